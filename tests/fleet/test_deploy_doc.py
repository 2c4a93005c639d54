"""docs/how_to/deploy.rst, run: its config and its commands, on this machine's PostgreSQL and
Redis, with free ports, a temporary folder and the fleet tests' pipelines."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

from tests.conftest import HOST, free_port, stop_process_group

DOC = Path(__file__).resolve().parents[2] / "docs" / "how_to" / "deploy.rst"
REPO_ROOT = DOC.parents[2]


def _blocks(kind: str) -> list:
    """The bodies of the page's ``.. code-block:: <kind>`` blocks."""
    blocks = []
    for match in re.finditer(rf"\.\. code-block:: {kind}\n\n((?:   .*\n|\n)+)", DOC.read_text()):
        blocks.append("\n".join(line[3:] for line in match.group(1).splitlines()).strip() + "\n")
    return blocks


def _wait(url: str, process: subprocess.Popen, log: Path, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:  # not listening yet, or still booting
            time.sleep(0.1)
    raise AssertionError(f"{url} does not answer: {log.read_text()}")


def test_the_deploy_page_runs(tmp_path, postgres_schema_url, redis_url):
    op_store_port, pipelines_port = free_port(), free_port()
    redis = urlparse(redis_url)
    config = (
        _blocks("yaml")[0]
        .replace("postgresql://postgres@127.0.0.1:5432/chariots", postgres_schema_url)
        .replace("/srv/chariots/ops", str(tmp_path / "ops"))
        .replace("5001", str(op_store_port))
        .replace("8000", str(pipelines_port))
        .replace("host: 127.0.0.1\n      port: 6379\n      db: 0",
                 f"host: {redis.hostname}\n      port: {redis.port}\n      db: {int(redis.path.strip('/') or 0)}")
    )
    assert str(pipelines_port) in config and postgres_schema_url in config and f"db: {redis.path.strip('/')}" in config
    (tmp_path / "chariots.yaml").write_text(config)
    commands = [line[2:] for line in _blocks("console")[0].splitlines() if line.startswith("$ ")]
    assert [shlex.split(command)[1] for command in commands] == ["db-upgrade", "op-store", "pipelines", "workers"]
    processes = []
    try:
        for index, command in enumerate(commands):
            command = (command.replace("chariots.yaml", str(tmp_path / "chariots.yaml"))
                       .replace("my_project.pipelines:pipelines", "tests.fleet.fleet_app:pipelines")
                       .replace("my_project.pipelines", "tests.fleet.fleet_app"))
            argv = [sys.executable, "-m", "chariots.cli", *shlex.split(command)[1:]]
            log = tmp_path / f"command_{index}.log"
            with open(log, "w") as output:
                process = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT,
                                           start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
            if index == 0:
                assert process.wait(60) == 0, log.read_text()
                continue
            processes.append(process)
            if index == 1:
                _wait(f"http://{HOST}:{op_store_port}/health_check", process, log)
            if index == 2:
                _wait(f"http://{HOST}:{pipelines_port}/health_check", process, log)
        url = f"http://{HOST}:{pipelines_port}"
        curl = _blocks("console")[1].strip()
        assert curl == "$ curl -s http://127.0.0.1:8000/ready"
        assert requests.get(url + "/ready", timeout=10).status_code == 503  # untrained models

        # train in a worker (it saves what it trained), then load: every process follows
        job = requests.post(url + "/pipelines/train/main", json={"pipeline_input": [3.0, 5.0], "use_worker": True},
                            timeout=30).json()
        deadline = time.monotonic() + 60
        while True:
            status = requests.get(f"{url}/pipelines/train/jobs/{job['job_id']}", timeout=10).json()
            if status["job_status"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status["job_status"] == "done", status
        requests.post(url + "/pipelines/train_two/main", json={"pipeline_input": [1.0]}, timeout=30).raise_for_status()
        requests.post(url + "/pipelines/train_two/save", timeout=30).raise_for_status()
        for pipeline in ("pred", "pred_two"):
            assert requests.post(f"{url}/pipelines/{pipeline}/load", timeout=30).status_code == 200
        deadline = time.monotonic() + 10
        while {requests.get(url + "/ready", timeout=10).status_code for _ in range(12)} != {200}:
            assert time.monotonic() < deadline, requests.get(url + "/ready", timeout=10).json()
            time.sleep(0.2)
        answer = requests.post(url + "/pipelines/pred/main", json={"pipeline_input": [0]}, timeout=30).json()
        assert answer["pipeline_output"] == [4.0]
    finally:
        for process in reversed(processes):
            stop_process_group(process)
