"""A pickled payload planted in Redis runs no code: job payloads, meta and results are signed with
the secret key, and a worker or server checks the signature before dill reads a byte."""
import time

import dill
import pytest
from rq import Queue
from rq.job import Job
from rq.results import Result

from chariots._signing import SigningKeys
from chariots.errors import SignatureError
from chariots.op_store import OpStoreClient
from chariots.pipelines import PipelinesServer
from chariots.testing import TestPipelinesClient
from chariots.workers import JobStatus, RQWorkerPool
from tests.security.conftest import KEY, OTHER_KEY, Planted
from tests.workers.conftest import wait_for
from tests.workers.worker_ops import is_odd_pipeline


class UnsignedDill:
    """What an attacker who can write to Redis serializes with."""

    @staticmethod
    def dumps(obj):
        return dill.dumps(obj)

    @staticmethod
    def loads(data):
        return dill.loads(data)


class OtherKeyDill:
    """Correctly signed, but with a key the workers do not hold."""

    keys = SigningKeys(OTHER_KEY)

    @classmethod
    def dumps(cls, obj):
        return cls.keys.sign("chariots.rq-job", dill.dumps(obj))

    @classmethod
    def loads(cls, data):
        return dill.loads(cls.keys.unsign("chariots.rq-job", data, "job"))


@pytest.fixture(params=["open-redis", "password-redis"])
def connection(request, redis_connection):
    if request.param == "open-redis":
        return redis_connection
    return request.getfixturevalue("private_redis").connection()


def _wait_status(job_id, connection, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Job.fetch(job_id, connection=connection, serializer=UnsignedDill).get_status(refresh=True)
        if status.value in ("finished", "failed"):
            return status.value
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end within {timeout} s")


@pytest.mark.parametrize("serializer", [UnsignedDill, OtherKeyDill], ids=["unsigned", "other-key"])
def test_a_job_planted_in_redis_fails_unread_and_the_worker_goes_on(connection, serializer, marker):
    with RQWorkerPool(redis=connection, secret_key=KEY) as pool:
        pool.spawn_worker()
        planted = Queue("chariots_workers", connection=connection, serializer=serializer).enqueue(
            print, Planted(str(marker)), job_timeout=30)
        assert _wait_status(planted.id, connection) == "failed"
        result = Result.fetch_latest(Job.fetch(planted.id, connection=connection, serializer=UnsignedDill),
                                     serializer=UnsignedDill)
        assert "SignatureError: a job (payload, meta or result) read from Redis is refused" in result.exc_string
        assert not marker.exists()

        # the worker still takes the server's own (signed) jobs
        pipeline = is_odd_pipeline()
        client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=pool, import_name="app"))
        done = wait_for(client, client.call_pipeline(pipeline, 4, use_worker=True), pipeline)
        assert (done.job_status, done.value) == (JobStatus.done, True)
    assert not marker.exists()


def test_a_result_planted_in_redis_is_refused_when_fetched(redis_connection, marker):
    with RQWorkerPool(redis=redis_connection, secret_key=KEY) as pool:
        pool.spawn_worker()
        pipeline = is_odd_pipeline()
        client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=pool, import_name="app"))
        done = wait_for(client, client.call_pipeline(pipeline, 4, use_worker=True), pipeline)
        job = Job.fetch(done.job_id, connection=redis_connection, serializer=UnsignedDill)
        Result.create(job, Result.Type.SUCCESSFUL, ttl=600, return_value=Planted(str(marker)))
        with pytest.raises(SignatureError, match=f"^the result of job '{done.job_id}' is refused: a job "
                                                 r"\(payload, meta or result\) read from Redis is refused: it "
                                                 "carries no signature"):
            pool.get_pipeline_response_json_for_id(done.job_id)
        with pytest.raises(SignatureError, match=f"^the result of job '{done.job_id}' is refused"):
            client.fetch_job(done.job_id, pipeline)  # over the server's route: a 403 with the reason
    assert not marker.exists()


def test_the_job_payload_carries_no_op_store_token_nor_key(redis_connection):
    store = OpStoreClient("http://127.0.0.1:9", auth_token="op-store-token-value", secret_key=KEY)
    store.signing_keys  # noqa: B018
    pool = RQWorkerPool(redis=redis_connection, secret_key=KEY)
    pipeline = is_odd_pipeline()
    server = PipelinesServer([pipeline], worker_pool=pool, op_store_client=store, import_name="app")
    job_id = pool.execute_pipeline_async(pipeline, 4, server)
    for key in redis_connection.keys("*"):
        if redis_connection.type(key) == b"hash":
            stored = b"".join(value for value in redis_connection.hgetall(key).values())
        elif redis_connection.type(key) == b"string":
            stored = redis_connection.get(key)
        else:
            continue
        assert b"op-store-token-value" not in stored and KEY.encode() not in stored, key
    assert redis_connection.exists(f"rq:job:{job_id}")
