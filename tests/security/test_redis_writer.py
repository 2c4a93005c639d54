"""Finding 3 of issue 19: a writer of Redis without the key steers no worker and no server.

What it can write is RQ's job hashes, result streams, registries and sets. A signed payload
replayed under another job id, a result or meta moved to another job or field, the callback
names, webhooks, retries and dependents RQ keeps unsigned in a job, and a job planted in the
started-job registry: each is tried against real workers and a real server. A planted callable
would leave a marker file, a planted webhook would be requested; neither happens, and each job
either fails with the reason or its fetch answers an error naming it.
"""
import base64
import http.server
import json
import threading
import time
import zlib

import dill
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rq.command import send_stop_job_command

from chariots.errors import SignatureError
from chariots.pipelines import PipelinesServer
from chariots.testing import TestPipelinesClient
from chariots.workers import JobStatus, RQWorkerPool
from tests import generative
from tests.security.conftest import KEY, OTHER_KEY
from tests.security.plants import MARKER_ENV, PLANT
from tests.workers.conftest import SHORT_BOUND, wait_for
from tests.workers.worker_ops import Explode, Sleep, Touch, is_odd_pipeline, single

QUEUE_KEY = "rq:queue:chariots_workers"
STARTED_KEY = "rq:wip:chariots_workers"
DEFERRED_KEY = "rq:deferred:chariots_workers"
#: how long a worker or server is given to act on a plant before the marker's absence is asserted
GRACE = 0.5


def job_key(job_id: str) -> str:
    return f"rq:job:{job_id}"


def results_key(job_id: str) -> str:
    return f"rq:results:{job_id}"


def status(connection, job_id: str) -> str:
    return connection.hget(job_key(job_id), "status").decode()


@pytest.fixture
def plant_marker(tmp_path, monkeypatch):
    """Where a planted callable would write; the workers spawned after it inherit its path."""
    marker = tmp_path / "planted-callable-ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    return marker


class Hook:
    """An HTTP server on 127.0.0.1 that a planted webhook would reach: each request leaves the marker."""

    def __init__(self, marker):
        self.marker = marker
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.marker.write_text(f"{self.command} {self.path}")
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def webhooks(self, job_status: str) -> str:
        """The ``webhooks`` field of a job hash, as RQ writes it, pointing here."""
        return json.dumps([{"url": self.url, "job_status": job_status, "method": "POST", "headers": None,
                            "timeout": 2}])


@pytest.fixture
def hook(tmp_path):
    server = Hook(tmp_path / "webhook-requested")
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def pool(redis_connection):
    with RQWorkerPool(redis=redis_connection, secret_key=KEY, abandoned_job_timeout=SHORT_BOUND) as pool:
        yield pool


def pipelines():
    return {"is_odd": is_odd_pipeline(), "explode": single(Explode(), "explode"),
            "sleepy": single(Sleep(), "sleepy"), "touch": single(Touch(), "touch")}


@pytest.fixture
def served(pool):
    """The pipelines by name, and a client of a server queueing them on ``pool``."""
    named = pipelines()
    return named, TestPipelinesClient(PipelinesServer(list(named.values()), worker_pool=pool, import_name="app"))


def queue_call(client, pipeline, value) -> str:
    response = client.call_pipeline(pipeline, value, use_worker=True)
    assert response.job_status is JobStatus.queued
    return response.job_id


def run_queued_jobs(pool) -> None:
    """Runs every queued job on a burst worker, which exits once the queue is empty."""
    assert pool.spawn_worker(burst=True).wait(60) == 0


def plant_job(connection, job_id: str, **fields) -> None:
    """A job hash written without the key: an unsigned payload, and whatever ``fields`` say."""
    mapping = {"data": zlib.compress(dill.dumps(("builtins.print", None, ("planted",), {}))),
               "origin": "chariots_workers", "status": "queued", "created_at": "2026-01-01T00:00:00.000000Z",
               "failure_callback_name": PLANT, "success_callback_name": PLANT, "stopped_callback_name": PLANT}
    mapping.update(fields)
    connection.hset(job_key(job_id), mapping=mapping)


def test_a_payload_replayed_under_another_job_id_fails_and_runs_nothing(redis_connection, pool, served, tmp_path):
    named, client = served
    touched = tmp_path / "touched"
    original = queue_call(client, named["touch"], str(touched))
    replay = f"replayed-{original}"
    redis_connection.copy(job_key(original), job_key(replay))
    redis_connection.lrem(QUEUE_KEY, 0, original)  # only the replay is left to run
    redis_connection.rpush(QUEUE_KEY, replay)
    run_queued_jobs(pool)
    assert status(redis_connection, replay) == "failed"
    assert not touched.exists()  # the call's op never ran under the new id
    with pytest.raises(SignatureError, match=f"^the pipeline name of job '{replay}' is refused: it is signed with an "
                                             "accepted key, but for another job or another field"):
        client.fetch_job(replay, named["touch"])
    reason = pool.queue.fetch_job(replay).latest_result().exc_string
    assert f"SignatureError: the payload of job '{replay}' is refused: it is signed with an accepted key, but for " \
           "another job or another field" in reason

    # the marker works: the original job, queued again under its own id, runs
    redis_connection.rpush(QUEUE_KEY, original)
    run_queued_jobs(pool)
    assert client.fetch_job(original, named["touch"]).value == str(touched) and touched.exists()


def test_a_result_moved_to_another_job_is_refused_when_fetched(redis_connection, pool, served):
    named, client = served
    first, second = queue_call(client, named["is_odd"], 4), queue_call(client, named["is_odd"], 5)
    run_queued_jobs(pool)
    assert (client.fetch_job(first, "is_odd").value, client.fetch_job(second, "is_odd").value) == (True, False)
    redis_connection.copy(results_key(first), results_key(second), replace=True)
    refused = f"^the result of job '{second}' is refused: it is signed with an accepted key, but for another job"
    with pytest.raises(SignatureError, match=refused):
        pool.get_pipeline_response_json_for_id(second)
    with pytest.raises(SignatureError, match=refused):  # over the server's route: a 403 with the reason
        client.fetch_job(second, "is_odd")
    assert client.fetch_job(first, "is_odd").value is True


def test_the_meta_of_another_job_is_refused_not_shown_as_this_ones(redis_connection, pool, served):
    named, client = served
    first, second = queue_call(client, named["explode"], 3), queue_call(client, named["explode"], 7)
    run_queued_jobs(pool)
    assert "exploded on 7" in client.fetch_job(second, "explode").error["message"]
    redis_connection.hset(job_key(second), "meta", redis_connection.hget(job_key(first), "meta"))
    with pytest.raises(SignatureError, match=f"^the pipeline name of job '{second}' is refused: it is signed with an "
                                             "accepted key, but for another job"):
        client.fetch_job(second, "explode")
    assert "exploded on 3" in client.fetch_job(first, "explode").error["message"]


def _latest_result(connection, job_id: str) -> dict:
    [(_, fields)] = connection.xrevrange(results_key(job_id), count=1)
    return fields


@pytest.mark.parametrize("move", ["payload-as-meta", "result-as-meta", "payload-as-result"])
def test_a_blob_moved_to_another_field_of_its_job_is_refused(redis_connection, pool, served, move):
    named, client = served
    job_id = queue_call(client, named["is_odd"], 4)
    run_queued_jobs(pool)
    assert client.fetch_job(job_id, "is_odd").value is True
    payload = zlib.decompress(redis_connection.hget(job_key(job_id), "data"))
    result = _latest_result(redis_connection, job_id)
    if move == "payload-as-meta":
        redis_connection.hset(job_key(job_id), "meta", payload)
    elif move == "result-as-meta":
        redis_connection.hset(job_key(job_id), "meta", base64.b64decode(result[b"return_value"]))
    else:
        result[b"return_value"] = base64.b64encode(payload)
        redis_connection.delete(results_key(job_id))
        redis_connection.xadd(results_key(job_id), result)
    field = "result" if move.endswith("as-result") else "pipeline name"
    with pytest.raises(SignatureError, match=f"^the {field} of job '{job_id}' is refused: the job holds "):
        client.fetch_job(job_id, "is_odd")


@pytest.mark.parametrize("status_field", [b"pwned", None])
def test_a_job_status_rq_never_writes_is_refused_not_a_500(redis_connection, pool, served, status_field):
    named, client = served
    job_id = queue_call(client, named["is_odd"], 4)
    if status_field is None:
        redis_connection.hdel(job_key(job_id), "status")
    else:
        redis_connection.hset(job_key(job_id), "status", status_field)
    with pytest.raises(SignatureError, match=f"^job '{job_id}' is refused: its hash in Redis holds what RQ never "
                                             "writes"):
        client.fetch_job(job_id, "is_odd")


@pytest.mark.parametrize("callback", ["success", "failure", "stopped"])
def test_callback_names_planted_in_a_job_are_never_imported(redis_connection, pool, served, plant_marker, callback):
    named, client = served
    pipeline, value = {"success": ("is_odd", 4), "failure": ("explode", 3), "stopped": ("sleepy", 30)}[callback]
    job_id = queue_call(client, named[pipeline], value)
    redis_connection.hset(job_key(job_id), f"{callback}_callback_name", PLANT)
    pool.spawn_worker()
    if callback == "stopped":
        wait_for(client, client.fetch_job(job_id, pipeline), pipeline, statuses=(JobStatus.running,))
        send_stop_job_command(redis_connection, job_id, serializer=pool.queue.serializer)
    ended = wait_for(client, client.fetch_job(job_id, pipeline), pipeline)
    time.sleep(GRACE)
    assert not plant_marker.exists()
    if callback == "success":
        assert (ended.job_status, ended.value) == (JobStatus.done, True)
    elif callback == "failure":  # our own failure recorder ran, not the planted one
        assert ended.error == {"type": "RuntimeError",
                               "message": "exploded on 3; while running node 'explode' of pipeline 'explode'"}
    else:
        assert ended.error == {"type": "JobStopped",
                               "message": "the job was stopped (an RQ stop-job command) before it finished"}


@pytest.mark.parametrize("job_status", ["finished", "failed"])
def test_a_webhook_planted_in_a_job_is_never_requested(redis_connection, pool, served, hook, job_status):
    named, client = served
    pipeline, value = ("is_odd", 4) if job_status == "finished" else ("explode", 3)
    job_id = queue_call(client, named[pipeline], value)
    redis_connection.hset(job_key(job_id), "webhooks", hook.webhooks(job_status))
    run_queued_jobs(pool)
    time.sleep(GRACE)
    assert not hook.marker.exists()
    assert client.fetch_job(job_id, pipeline).job_status is (JobStatus.done if job_status == "finished"
                                                            else JobStatus.failed)


@pytest.mark.parametrize("cleaner", ["worker", "server"])
def test_a_job_planted_in_the_started_registry_runs_nothing(redis_connection, pool, served, plant_marker, cleaner):
    """RQ's cleanup of an "abandoned" job imports its failure callback, retries it and queues its
    dependents, all named by unsigned fields: the planted entry is dropped, nothing run."""
    named, client = served
    planted = "planted-abandoned"
    plant_job(redis_connection, planted, status="started", retries_left="3")
    redis_connection.sadd(f"{job_key(planted)}:dependents", "planted-dependent")
    plant_job(redis_connection, "planted-dependent", status="deferred")
    redis_connection.zadd(STARTED_KEY, {f"{planted}:execution": 1})  # its heartbeat expired long ago
    left_queued = []
    if cleaner == "worker":  # a worker cleans the registries when it starts
        pool.spawn_worker()
        deadline = time.monotonic() + 10
        while redis_connection.zcard(STARTED_KEY) and time.monotonic() < deadline:
            time.sleep(0.05)
    else:  # a server fetching a job that has not ended fails the abandoned ones
        queued = queue_call(client, named["is_odd"], 4)
        assert client.fetch_job(queued, "is_odd").job_status is JobStatus.queued
        left_queued.append(queued.encode())
    time.sleep(GRACE)
    assert not plant_marker.exists()
    assert redis_connection.zcard(STARTED_KEY) == 0  # the entry was dealt with...
    assert status(redis_connection, planted) == "started"  # ...and nothing it named acted on
    assert status(redis_connection, "planted-dependent") == "deferred"
    assert redis_connection.lrange(QUEUE_KEY, 0, -1) == left_queued
    with pytest.raises(SignatureError, match=f"^the pipeline name of job '{planted}' is refused: the job holds "
                                             "nothing"):
        client.fetch_job(planted, "is_odd")


def test_dependents_planted_for_a_job_are_never_queued(redis_connection, pool, served, plant_marker):
    named, client = served
    job_id = queue_call(client, named["is_odd"], 4)
    planted = "planted-dependent"
    plant_job(redis_connection, planted, status="deferred", dependency_ids=json.dumps([job_id]))
    redis_connection.sadd(f"{job_key(job_id)}:dependents", planted)
    redis_connection.sadd(f"{job_key(planted)}:dependencies", job_id)
    redis_connection.zadd(DEFERRED_KEY, {planted: time.time()})
    redis_connection.hset(job_key(job_id), "dependency_ids", json.dumps([planted]))
    run_queued_jobs(pool)
    time.sleep(GRACE)
    assert client.fetch_job(job_id, "is_odd").value is True
    assert not plant_marker.exists()
    assert status(redis_connection, planted) == "deferred"
    assert redis_connection.lrange(QUEUE_KEY, 0, -1) == []


def test_a_signed_job_naming_another_function_runs_nothing(redis_connection, pool, tmp_path):
    """Even signed, a job's data never picks the function a worker imports and calls."""
    touched = tmp_path / "touched"
    job = pool.queue.enqueue(open, str(touched), "w")
    run_queued_jobs(pool)
    assert status(redis_connection, job.id) == "failed"
    assert not touched.exists()
    assert f"job {job.id!r} names the function 'io.open': Chariots workers run " \
           "chariots.workers._rq_job.run_job only" in pool.queue.fetch_job(job.id).latest_result().exc_string


# --------------------------------------------------------------------------- generated plants

_PLANTS = ["success", "failure", "webhook", "dependents", "retries", "abandoned"]
_CASES = st.fixed_dictionaries({
    "pipeline": st.sampled_from(["is_odd", "explode"]),
    "plants": st.sets(st.sampled_from(_PLANTS)),
    "move": st.sampled_from([None, "replay", "meta", "result"]),
})


def _own_outcome(response, pipeline: str, value: int) -> bool:
    if pipeline == "is_odd":
        return (response.job_status, response.value) == (JobStatus.done, (value + 1) % 2 == 1)
    message = f"exploded on {value}; while running node 'explode' of pipeline 'explode'"
    return response.job_status is JobStatus.failed and response.error == {"type": "RuntimeError", "message": message}


def _plant(connection, job_id: str, plants, hook, index: int) -> None:
    fields = {f"{name}_callback_name": PLANT for name in ("success", "failure") if name in plants}
    if "webhook" in plants:
        fields["webhooks"] = hook.webhooks("finished")
    if "retries" in plants:
        fields["retries_left"] = "2"
    if fields:
        connection.hset(job_key(job_id), mapping=fields)
    if "dependents" in plants:
        plant_job(connection, f"planted-dependent-{index}", status="deferred")
        connection.sadd(f"{job_key(job_id)}:dependents", f"planted-dependent-{index}")
    if "abandoned" in plants:  # named in the started registry, its heartbeat long expired
        connection.zadd(STARTED_KEY, {f"{job_id}:planted": 1})


@pytest.mark.generative
@settings(max_examples=generative.examples(3, 60), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(_CASES, min_size=1, max_size=5))
def test_generated_plants_and_moves_run_nothing_and_no_job_answers_as_another(
    redis_connection, plant_marker, hook, cases
):
    redis_connection.flushdb()
    with RQWorkerPool(redis=redis_connection, secret_key=KEY, abandoned_job_timeout=SHORT_BOUND) as pool:
        named = pipelines()
        client = TestPipelinesClient(PipelinesServer(list(named.values()), worker_pool=pool, import_name="app"))
        # the jobs whose fields are moved (to a job of the same pipeline, with another input), run first
        sources = {index: queue_call(client, named[case["pipeline"]], 100 + index)
                   for index, case in enumerate(cases) if case["move"]}
        if sources:
            run_queued_jobs(pool)
        targets = {}
        for index, case in enumerate(cases):
            if case["move"] == "replay":  # the source's whole job, under a new id
                targets[index] = f"replayed-{sources[index]}"
                redis_connection.copy(job_key(sources[index]), job_key(targets[index]))
                redis_connection.rpush(QUEUE_KEY, targets[index])
            else:
                targets[index] = queue_call(client, named[case["pipeline"]], index)
            if case["move"] == "meta":
                redis_connection.hset(job_key(targets[index]), "meta",
                                      redis_connection.hget(job_key(sources[index]), "meta"))
            _plant(redis_connection, targets[index], case["plants"], hook, index)
        run_queued_jobs(pool)
        for index, case in enumerate(cases):
            if case["move"] == "result":
                redis_connection.copy(results_key(sources[index]), results_key(targets[index]), replace=True)
        time.sleep(GRACE)
        assert not plant_marker.exists() and not hook.marker.exists()
        for index, case in enumerate(cases):
            pipeline, job_id = case["pipeline"], targets[index]
            if case["move"] and not (case["move"] == "result" and pipeline == "explode"):
                with pytest.raises(SignatureError, match=f"of job '{job_id}' is refused"):
                    client.fetch_job(job_id, pipeline)
            else:  # a failed job's answer reads no result: a result moved to it changes nothing
                assert _own_outcome(client.fetch_job(job_id, pipeline), pipeline, index), case
            if "dependents" in case["plants"]:
                assert status(redis_connection, f"planted-dependent-{index}") == "deferred"
        assert redis_connection.lrange(QUEUE_KEY, 0, -1) == []
    shape = ",".join(sorted(f"{case['pipeline']}:{case['move']}:{'+'.join(sorted(case['plants']))}" for case in cases))
    generative.record("test_generated_plants_and_moves_run_nothing_and_no_job_answers_as_another", shape)


_JOB_IDS = st.from_regex(r"[A-Za-z0-9_-]{1,36}", fullmatch=True)
_FIELDS = st.sampled_from(["payload", "result", "pipeline", "modules", "error"])


@pytest.mark.generative
@settings(max_examples=generative.examples(200, 5000))
@given(data=st.binary(max_size=64), sealed_for=st.tuples(_JOB_IDS, _FIELDS), read_as=st.tuples(_JOB_IDS, _FIELDS),
       same_job=st.booleans(), same_field=st.booleans())
def test_a_sealed_field_opens_for_its_own_job_and_field_only(data, sealed_for, read_as, same_job, same_field):
    from chariots._signing import SigningKeys
    from chariots.workers._job_fields import seal, unseal

    read_as = (sealed_for[0] if same_job else read_as[0], sealed_for[1] if same_field else read_as[1])
    generative.record("test_a_sealed_field_opens_for_its_own_job_and_field_only",
                      f"{read_as[0] == sealed_for[0]}:{read_as[1] == sealed_for[1]}:{len(data) > 0}")
    keys = SigningKeys(KEY)
    blob = seal(keys, *sealed_for, data)
    if read_as == sealed_for:
        assert unseal(keys, *read_as, blob) == data
    else:
        with pytest.raises(SignatureError, match=f"of job {read_as[0]!r} is refused: it is signed with an accepted "
                                                 "key, but for another job or another field"):
            unseal(keys, *read_as, blob)
    with pytest.raises(SignatureError, match="is signed with a key this process does not accept"):
        unseal(SigningKeys(OTHER_KEY), *sealed_for, blob)
