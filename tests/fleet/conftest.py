"""A fleet on 127.0.0.1: an op store process and a pipelines server under gunicorn (4 workers),
both started with the ``chariots`` CLI on free ports and stopped by the test."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import requests

from tests.conftest import HOST, free_port, stop_process_group

PIPELINES = "tests.fleet.fleet_app:pipelines"
REPO_ROOT = Path(__file__).resolve().parents[2]
#: the workers of the pipelines server
WORKERS = 4


class Fleet:
    """The op store and pipelines server processes of one test.

    :param tmp_path: where the config, the saved ops and the SQLite file go
    :param db_url: the op store's database (None: a SQLite file under tmp_path)
    """

    def __init__(self, tmp_path: Path, db_url: Optional[str] = None):
        self.root = tmp_path / "ops"
        self.op_store_port, self.port = free_port(), free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.op_store_url = f"http://{HOST}:{self.op_store_port}"
        db_url = db_url or f"sqlite:///{tmp_path / 'op_store.db'}"
        self.config = tmp_path / "fleet.yaml"
        self.config.write_text(
            f"op_store:\n  op_store_db_url: '{db_url}'\n  saver_type: file-saver\n"
            f"  saver_kwargs: {{root_path: '{self.root}'}}\n"
            f"  server_host: {HOST}\n  server_port: {self.op_store_port}\n"
            f"pipelines:\n  server_host: {HOST}\n  server_port: {self.port}\n"
        )
        self.processes: Dict[str, subprocess.Popen] = {}
        self.logs = tmp_path

    def _start(self, what: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"{what}.log", "a")
        process = subprocess.Popen(
            [sys.executable, "-m", "chariots.cli", *args], cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
        )
        self.processes[what] = process
        return process

    def start_op_store(self) -> "Fleet":
        self._start("op_store", "op-store", "-c", str(self.config), "--workers", "1", "--threads", "8")
        self._wait(self.op_store_url + "/health_check", "op_store")
        return self

    def start_pipelines(self, wait_ready: bool = True) -> "Fleet":
        self._start("pipelines", "pipelines", "-c", str(self.config), "-p", PIPELINES,
                    "--workers", str(WORKERS), "--threads", "4")
        self._wait(self.url + "/health_check", "pipelines")
        if wait_ready:  # every worker answers
            deadline = time.monotonic() + 30
            while len(self.worker_pids()) < WORKERS and time.monotonic() < deadline:
                time.sleep(0.1)
        return self

    def _wait(self, url: str, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[what].poll() is not None:
                raise AssertionError(f"{what} exited: {(self.logs / f'{what}.log').read_text()}")
            try:
                requests.get(url, timeout=5)
                return
            except requests.RequestException:  # not listening yet, or still booting
                time.sleep(0.1)
        raise AssertionError(f"{what} does not answer at {url} after {timeout} s")

    def worker_pids(self) -> List[int]:
        """The gunicorn worker processes of the pipelines server (children of its master)."""
        master = self.processes["pipelines"].pid
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == master:
                    pids.append(int(entry))
        return pids

    def stop(self, what: str) -> None:
        process = self.processes.pop(what, None)
        if process is not None:
            stop_process_group(process)

    def stop_all(self) -> None:
        for what in list(self.processes):
            self.stop(what)


@pytest.fixture
def fleet(tmp_path):
    """A fleet on a SQLite file, not started (the test starts what it needs)."""
    pytest.importorskip("gunicorn")
    fleet = Fleet(tmp_path)
    yield fleet
    fleet.stop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_fleet(request, tmp_path):
    """A fleet on SQLite, then on PostgreSQL, started."""
    pytest.importorskip("gunicorn")
    db_url = request.getfixturevalue("postgres_schema_url") if request.param == "postgres" else None
    fleet = Fleet(tmp_path, db_url)
    try:
        yield fleet.start_op_store().start_pipelines()
    finally:
        fleet.stop_all()
