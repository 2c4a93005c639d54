"""CLI fixtures: an in-process runner, chariots commands as real processes, a private cookiecutter setup."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
from click.testing import CliRunner

from chariots.cli import cli
from tests.conftest import HOST

#: the repository root: the folder chariots commands run in, so `tests....` modules import
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def cookiecutter_config(tmp_path, monkeypatch):
    """Keeps cookiecutter's replay files and user config out of the home folder."""
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\ncookiecutters_dir: {tmp_path / 'cookiecutters'}\n")
    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(config))


@pytest.fixture
def run_cli():
    """Runs ``chariots ARGS`` in process; returns click's result (exit code, output)."""
    runner = CliRunner()

    def run(*args: str, **kwargs):
        return runner.invoke(cli, list(args), catch_exceptions=False, **kwargs)

    return run


def assert_clean_failure(result, exit_code: int, message: str) -> None:
    """The command failed with ``exit_code`` and an error message containing ``message``, no traceback."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert "Error: " in result.output
    assert message in " ".join(result.output.split()), result.output


class ChariotsProcess:
    """A ``chariots`` command running in its own process, stopped with SIGTERM."""

    def __init__(self, args: List[str], cwd: Path = REPO_ROOT):
        self.args = args
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chariots.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def wait_for_port(self, port: int, timeout: float = 30.0) -> "ChariotsProcess":
        import socket

        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                out, err = self.process.communicate()
                code = self.process.returncode
                raise AssertionError(f"chariots {self.args} exited with {code}:\n{out}\n{err}")
            try:
                with socket.create_connection((HOST, port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    message = f"chariots {self.args} does not listen on {port} after {timeout}s"
                    raise AssertionError(message) from None
                time.sleep(0.05)

    def stop(self, timeout: float = 15.0):
        """Sends SIGTERM and returns (exit code, stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        return self.process.returncode, out, err


@pytest.fixture
def chariots_process():
    """Starts ``chariots`` commands as processes (``chariots_process(args)``); all stopped after the test."""
    processes: List[ChariotsProcess] = []

    def start(*args: str) -> ChariotsProcess:
        process = ChariotsProcess(list(args))
        processes.append(process)
        return process

    yield start
    for process in reversed(processes):
        process.stop()
