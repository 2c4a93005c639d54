"""The YAML example of the reference docs: it loads, and it builds working servers and clients."""
import time

import pytest

from chariots.config import ChariotsConfig, OpStoreConfig, PipelinesConfig, WorkersConfig
from chariots.errors import ConfigError
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesClient, PipelinesServer
from chariots.pipelines.runners import SequentialRunner
from chariots.workers import JobStatus, RQWorkerPool
from tests.config.conftest import DOCS_YAML, runnable_docs_yaml
from tests.config.pipelines_module import add_one_pipeline, count_pipeline
from tests.conftest import free_port, serve_wsgi


def test_the_docs_yaml_loads_as_written(write_config):
    config = ChariotsConfig(write_config(DOCS_YAML))

    op_store = config.op_store_config
    assert isinstance(op_store, OpStoreConfig)
    assert (op_store.server_host, op_store.server_port) == ("localhost", 5000)
    assert op_store.saver_type == "file-saver"
    assert op_store.saver_kwargs == {"root_path": "/tmp/op_store_test"}
    assert op_store.op_store_db_url == "sqlite:///memory:"

    pipelines = config.pipelines_config
    assert isinstance(pipelines, PipelinesConfig)
    assert (pipelines.server_host, pipelines.server_port) == ("localhost", 80)
    assert pipelines.runner == "sequential-runner"
    assert pipelines.import_name == "test_chariots_pipelines_server"
    assert pipelines.pipelines == [] and pipelines.pipeline_callbacks == []

    workers = config.pipelines_worker_config
    assert isinstance(workers, WorkersConfig)
    assert workers.use_for_all is True
    assert workers.worker_type == "rq"
    assert workers.worker_pool_kwargs == {"redis_kwargs": {"host": "localhost", "port": 8080}}


def test_the_docs_yaml_builds_clients_runner_saver_and_pool_without_contacting_anything(write_config):
    config = ChariotsConfig(write_config(DOCS_YAML))
    op_store_client = config.get_op_store_client()
    assert isinstance(op_store_client, OpStoreClient)
    pipelines_client = config.get_pipelines_client()
    assert isinstance(pipelines_client, PipelinesClient)
    assert pipelines_client.backend_url == "http://localhost:80"
    assert isinstance(config.pipelines_config.get_runner(), SequentialRunner)
    saver = config.op_store_config.get_saver()
    assert isinstance(saver, FileSaver)
    pool = config.get_pipelines_worker_pool()
    assert isinstance(pool, RQWorkerPool)
    assert pool.redis.connection_pool.connection_kwargs["port"] == 8080


def test_the_docs_yaml_builds_a_working_op_store_pipelines_server_and_client(tmp_path, write_config):
    op_store_port, pipelines_port = free_port(), free_port()
    path = write_config(runnable_docs_yaml(tmp_path, op_store_port, pipelines_port))
    config = ChariotsConfig(path)
    op_store_server = config.get_op_store_server()
    assert isinstance(op_store_server, OpStoreServer)

    with serve_wsgi(op_store_server.flask, op_store_port):
        config.pipelines_config.pipelines.extend([add_one_pipeline(), count_pipeline()])
        server = config.get_pipelines_server()
        assert isinstance(server, PipelinesServer)
        assert server.name == "test_chariots_pipelines_server"
        assert server.worker_pool is None and server.use_workers is None
        with serve_wsgi(server, pipelines_port):
            client = config.get_pipelines_client()
            assert client.call_pipeline("add_one", 41).value == 42
            assert client.call_pipeline("count").value == 1
            client.save_pipeline("count")

        # the count was saved through the configured op store: a new server continues it
        assert config.get_op_store_client().get_all_versions_of_op("counter")
        config.pipelines_config.pipelines = [count_pipeline()]
        with serve_wsgi(config.get_pipelines_server(), pipelines_port):
            assert config.get_pipelines_client().call_pipeline("count").value == 2

    assert list((tmp_path / "ops").rglob("*")), "the file saver wrote under the configured root_path"
    assert (tmp_path / "op_store.db").exists()


@pytest.mark.redis
def test_with_the_workers_section_calls_run_in_rq_workers(tmp_path, write_config, redis_url):
    op_store_port, pipelines_port = free_port(), free_port()
    path = write_config(runnable_docs_yaml(tmp_path, op_store_port, pipelines_port, redis_url))
    config = ChariotsConfig(path)
    pool = config.get_pipelines_worker_pool()
    assert isinstance(pool, RQWorkerPool)

    with serve_wsgi(config.get_op_store_server().flask, op_store_port):
        config.pipelines_config.pipelines.append(add_one_pipeline())
        server = config.get_pipelines_server()
        assert isinstance(server.worker_pool, RQWorkerPool)
        assert server.use_workers is True  # use_for_all: every call goes to a worker
        with serve_wsgi(server, pipelines_port):
            client = config.get_pipelines_client()
            response = client.call_pipeline("add_one", 1)
            assert response.job_id is not None and response.value is None
            worker = server.worker_pool.spawn_worker(burst=True)
            try:
                deadline = time.monotonic() + 30
                while response.job_status not in (JobStatus.done, JobStatus.failed):
                    assert time.monotonic() < deadline, f"job still {response.job_status} after 30 s"
                    time.sleep(0.05)
                    response = client.fetch_job(response.job_id, "add_one")
            finally:
                worker.wait(30)
            assert response.job_status is JobStatus.done
            assert response.value == 2


def test_without_a_workers_section_there_is_no_pool_to_get(tmp_path, write_config):
    config = ChariotsConfig(write_config(runnable_docs_yaml(tmp_path, free_port(), free_port())))
    expected = r"pipelines_workers\.worker_type is not set: set it to one of 'rq'"
    with pytest.raises(ConfigError, match=expected):
        config.get_pipelines_worker_pool()
