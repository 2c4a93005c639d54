"""The op-store, pipelines, workers and db-upgrade commands, run for real on 127.0.0.1."""
import time

import pytest
import requests
import sqlalchemy

from chariots.config import ChariotsConfig
from chariots.pipelines import PipelinesClient
from chariots.workers import JobStatus
from tests.config.conftest import runnable_docs_yaml
from tests.conftest import HOST, free_port

PIPELINES = "tests.config.pipelines_module:pipelines"


def _tables(db_url: str) -> set:
    engine = sqlalchemy.create_engine(db_url)
    try:
        return set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_creates_the_tables_and_can_run_again(run_cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'op_store.db'}"
    for _ in range(2):
        result = run_cli("db-upgrade", "--db-url", url)
        assert result.exit_code == 0, result.output
        assert result.output.strip().splitlines()[-1] == f"Op store database {url} is at revision head"
    assert {"alembic_version", "ops", "versions"} <= _tables(url)


def test_db_upgrade_reads_the_database_from_the_config(run_cli, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(runnable_docs_yaml(tmp_path, free_port(), free_port()))
    result = run_cli("db-upgrade", "--config", str(path))
    assert result.exit_code == 0, result.output
    assert "alembic_version" in _tables(f"sqlite:///{tmp_path / 'op_store.db'}")


@pytest.mark.postgres
def test_db_upgrade_on_postgresql(run_cli, postgres_schema_url):
    result = run_cli("db-upgrade", "--db-url", postgres_schema_url)
    assert result.exit_code == 0, result.output
    assert "alembic_version" in _tables(postgres_schema_url)


def test_op_store_and_pipelines_servers_from_the_docs_config(chariots_process, tmp_path):
    op_store_port, pipelines_port = free_port(), free_port()
    path = tmp_path / "config.yaml"
    path.write_text(runnable_docs_yaml(tmp_path, op_store_port, pipelines_port))

    op_store = chariots_process("op-store", "--config", str(path)).wait_for_port(op_store_port)
    assert requests.get(f"http://{HOST}:{op_store_port}/health_check", timeout=5).ok

    pipelines = chariots_process("pipelines", "--config", str(path), "--pipelines", PIPELINES)
    pipelines.wait_for_port(pipelines_port)
    client = ChariotsConfig(path).get_pipelines_client()
    assert sorted(client.available_pipelines()) == ["add_one", "count"]
    assert client.call_pipeline("add_one", 1).value == 2
    assert client.call_pipeline("count").value == 1
    client.save_pipeline("count")

    code, out, err = pipelines.stop()
    assert code == 0, err
    assert f"Serving the pipelines server on http://{HOST}:{pipelines_port}" in out
    assert "Stopped the pipelines server" in out

    # a new pipelines server (on another port, from the command line) loads the saved count
    other_port = free_port()
    chariots_process("pipelines", "-c", str(path), "-p", PIPELINES, "--port", str(other_port)) \
        .wait_for_port(other_port)
    assert PipelinesClient(f"http://{HOST}:{other_port}").call_pipeline("count").value == 2

    code, out, _ = op_store.stop()
    assert code == 0
    assert "Stopped the op store" in out


def test_auth_tokens_protect_both_servers(chariots_process, tmp_path):
    op_store_port, pipelines_port = free_port(), free_port()
    path = tmp_path / "config.yaml"
    path.write_text(runnable_docs_yaml(tmp_path, op_store_port, pipelines_port))
    chariots_process("op-store", "-c", str(path), "--auth-token", "store-secret").wait_for_port(op_store_port)
    chariots_process(
        "pipelines", "-c", str(path), "-p", PIPELINES, "--auth-token", "pipes-secret",
        "--op-store-auth-token", "store-secret",
    ).wait_for_port(pipelines_port)
    url = f"http://{HOST}:{pipelines_port}"
    assert requests.get(f"{url}/available_pipelines", timeout=5).status_code == 401
    client = PipelinesClient(url, auth_token="pipes-secret")
    assert client.call_pipeline("count").value == 1
    client.save_pipeline("count")  # through the op store, with its token


@pytest.mark.redis
def test_workers_command_runs_the_calls_of_a_use_for_all_config(chariots_process, tmp_path, redis_url):
    op_store_port, pipelines_port = free_port(), free_port()
    path = tmp_path / "config.yaml"
    path.write_text(runnable_docs_yaml(tmp_path, op_store_port, pipelines_port, redis_url))
    chariots_process("op-store", "-c", str(path)).wait_for_port(op_store_port)
    chariots_process("pipelines", "-c", str(path), "-p", PIPELINES).wait_for_port(pipelines_port)

    client = ChariotsConfig(path).get_pipelines_client()
    response = client.call_pipeline("add_one", 41)
    assert response.job_id is not None  # use_for_all: queued for a worker

    worker = chariots_process("workers", "--config", str(path), "--burst")
    deadline = time.monotonic() + 30
    while response.job_status not in (JobStatus.done, JobStatus.failed):
        assert time.monotonic() < deadline, f"job still {response.job_status} after 30 s"
        time.sleep(0.05)
        response = client.fetch_job(response.job_id, "add_one")
    assert response.job_status is JobStatus.done
    assert response.value == 42
    worker.process.wait(30)  # a burst worker stops once the queue is empty
    code, out, err = worker.stop()
    assert code == 0, err
    assert "Worker listening to the 'chariots_workers' queue of Redis at" in out
    assert "Worker stopped" in out


@pytest.mark.redis
def test_workers_take_the_secret_keys_from_the_config_and_the_op_store_token_from_its_variable(
    chariots_process, tmp_path, redis_url, monkeypatch
):
    """A fleet configured by file: the op store requires a token, the key is only in the config's
    op_store section, and each process would otherwise use a key file of its own (so a process
    that ignored the config's key would refuse the others' jobs and models)."""
    from chariots.op_store import OpStoreClient
    from chariots.versioning import Version

    key, old_key = "the-fleet-key-" + "k" * 20, "the-old-fleet-key-" + "o" * 20
    op_store_port, pipelines_port = free_port(), free_port()
    text = runnable_docs_yaml(tmp_path, op_store_port, pipelines_port, redis_url)
    text = text.replace("op_store:\n", f"op_store:\n  secret_key: {key}\n  old_secret_keys: [{old_key}]\n", 1)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    for variable in ("CHARIOTS_SECRET_KEY", "CHARIOTS_OLD_SECRET_KEYS", "CHARIOTS_OP_STORE_AUTH_TOKEN"):
        monkeypatch.delenv(variable, raising=False)

    monkeypatch.setenv("CHARIOTS_SECRET_KEY_FILE", str(tmp_path / "op_store_key"))
    chariots_process("op-store", "-c", str(path), "--auth-token", "store-secret").wait_for_port(op_store_port)
    monkeypatch.setenv("CHARIOTS_SECRET_KEY_FILE", str(tmp_path / "pipelines_key"))
    chariots_process("pipelines", "-c", str(path), "-p", PIPELINES, "--op-store-auth-token", "store-secret") \
        .wait_for_port(pipelines_port)
    monkeypatch.setenv("CHARIOTS_SECRET_KEY_FILE", str(tmp_path / "worker_key"))
    monkeypatch.setenv("CHARIOTS_OP_STORE_AUTH_TOKEN", "store-secret")
    worker = chariots_process("workers", "--config", str(path))

    client = ChariotsConfig(path).get_pipelines_client()
    for expected in (1, 2):  # each job loads the count the last one saved, signed under the config's key
        response = client.call_pipeline("count")
        assert response.job_id is not None  # use_for_all: run by the worker
        deadline = time.monotonic() + 30
        while response.job_status not in (JobStatus.done, JobStatus.failed):
            assert time.monotonic() < deadline, f"job still {response.job_status} after 30 s: {worker.stop()}"
            time.sleep(0.05)
            response = client.fetch_job(response.job_id, "count")
        assert response.job_status is JobStatus.done, (response.error, worker.stop())
        assert response.value == expected

    code, _, err = worker.stop()
    assert code == 0, err
    store = OpStoreClient(f"http://{HOST}:{op_store_port}", auth_token="store-secret", secret_key=key)
    (newest, *_) = sorted(store.get_all_versions_of_op("counter"), key=lambda version: version.creation_time,
                          reverse=True)
    assert isinstance(newest, Version)
    assert store.get_op_bytes_for_version("counter", newest)  # signed by the worker with the config's key
    assert not (tmp_path / "worker_key").exists()  # the worker never needed a key of its own
