"""Runners and object-store savers from a config file; the Dask runner used by the server and by
RQ workers alike (real servers on 127.0.0.1, a real Redis, real rq workers, a real LocalCluster)."""
from __future__ import annotations

import os
import time
from urllib.parse import urlparse

import pytest

from chariots import Client, Pipeline
from chariots.config import ChariotsConfig, PipelinesConfig
from chariots.errors import ConfigError
from chariots.nodes import Node
from chariots.pipelines.runners import DaskRunner, SequentialRunner, ThreadRunner
from tests.conftest import free_port, serve_wsgi
from tests.runners.runner_ops import WhereAmI


@pytest.mark.parametrize("text, expected", [
    ("pipelines:\n  runner: dask\n  runner_kwargs: {address: 'tcp://10.0.0.1:8786'}\n",
     (DaskRunner, "tcp://10.0.0.1:8786")),
    ("pipelines:\n  runner: Dask_Runner\n  runner_kwargs: {address: 'tcp://h:1', connect_timeout: 3}\n",
     (DaskRunner, "tcp://h:1")),
    ("pipelines:\n  runner: thread-runner\n  runner_kwargs: {max_workers: 3}\n", (ThreadRunner, 3)),
    ("pipelines:\n  runner: threads\n", (ThreadRunner, None)),
    ("pipelines:\n  runner: sequential-runner\n", (SequentialRunner, None)),
])
def test_a_config_file_names_the_runner_and_its_settings(tmp_path, text, expected):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    runner = ChariotsConfig(str(path)).pipelines_config.get_runner()
    setting = getattr(runner, "address", None) or getattr(runner, "max_workers", None)
    assert (type(runner), setting) == expected


@pytest.mark.parametrize("text, message", [
    ("pipelines:\n  runner: dask\n",
     "pipelines.runner_kwargs.address is required by 'dask-runner' (a scheduler address such as "
     "'tcp://127.0.0.1:8786')"),
    ("pipelines:\n  runner: dask\n  runner_kwargs: {adress: 'tcp://h:1'}\n",
     "unknown key pipelines.runner_kwargs.adress for 'dask-runner' (allowed: 'address', 'connect_timeout'); "
     "did you mean 'address'?"),
    ("pipelines:\n  runner: thread-runner\n  runner_kwargs: {max_workers: many}\n",
     "pipelines.runner_kwargs.max_workers must be a number of threads, got 'many' (str)"),
    ("pipelines:\n  runner: dask\n  runner_kwargs: [1]\n", "pipelines.runner_kwargs must be a mapping, got [1] (list)"),
    ("op_store:\n  saver_type: s3\n  saver_kwargs: {prefix: x}\n",
     "op_store.saver_kwargs.bucket is required by 's3-saver' (a bucket name)"),
    ("op_store:\n  saver_type: fsspec-saver\n  saver_kwargs: {url: 3}\n",
     "op_store.saver_kwargs.url must be a URL such as 's3://bucket/prefix', got 3 (int)"),
])
def test_bad_runner_and_saver_settings_name_the_key(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        ChariotsConfig(str(path))
    assert str(raised.value) == f"config file {str(path)!r}: {message}"


def test_runner_kwargs_are_for_a_runner_given_by_name():
    with pytest.raises(ConfigError, match="pipelines.runner_kwargs is for a runner given by name"):
        PipelinesConfig(runner=ThreadRunner(), runner_kwargs={"max_workers": 2})


def _where_pipeline() -> Pipeline:
    return Pipeline([Node(WhereAmI(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                    "where")


def test_the_dask_runner_serves_and_runs_rq_jobs_from_one_config(
    tmp_path, wsgi_server, dask_cluster, s3_server, redis_url, redis_connection
):
    from distributed import Client as DaskClient

    from chariots.workers import JobStatus

    redis = urlparse(redis_url)
    port = free_port()
    bucket = s3_server.new_bucket()
    config_path = tmp_path / "config.yaml"
    config_path.write_text(f"""\
op_store:
  op_store_db_url: 'sqlite:///{tmp_path / "store.db"}'
  saver_type: s3
  saver_kwargs:
    bucket: {bucket}
    prefix: models
    endpoint_url: {s3_server.endpoint_url}
    storage_options: {{key: {s3_server.CREDENTIALS["key"]}, secret: {s3_server.CREDENTIALS["secret"]}}}
  server_host: 127.0.0.1
  server_port: {port}
pipelines:
  runner: dask
  runner_kwargs:
    address: {dask_cluster.scheduler_address}
  import_name: dask_app
pipelines_workers:
  worker_type: rq
  worker_pool_kwargs:
    redis_kwargs: {{host: {redis.hostname}, port: {redis.port}, db: {int(redis.path.strip('/') or 0)}}}
""")
    config = ChariotsConfig(str(config_path))
    config.pipelines_config.pipelines.append(_where_pipeline())
    with DaskClient(dask_cluster.scheduler_address, set_as_default=False) as dask_client:
        dask_pids = set(dask_client.run(os.getpid).values())
    with serve_wsgi(config.get_op_store_server().flask, port=port):
        server = config.get_pipelines_server()
        assert isinstance(server.runner, DaskRunner)
        client = Client(wsgi_server(server))
        pipeline = _where_pipeline()
        served_pid, value = client.call_pipeline(pipeline, 7, use_worker=False).value
        assert served_pid in dask_pids and value == 7  # the server ran it on the cluster
        pool = server.worker_pool
        try:
            queued = client.call_pipeline(pipeline, 8, use_worker=True)
            pool.spawn_worker()
            deadline = time.monotonic() + 60
            done = queued
            while done.job_status not in (JobStatus.done, JobStatus.failed) and time.monotonic() < deadline:
                time.sleep(0.1)
                done = client.fetch_job(queued.job_id, pipeline)
            assert done.job_status is JobStatus.done, done.error
            job_pid, value = done.value
            assert job_pid in dask_pids and value == 8  # the RQ job ran it on the cluster too
            assert job_pid not in {worker.pid for worker in pool.spawned_workers}
        finally:
            pool.close()
