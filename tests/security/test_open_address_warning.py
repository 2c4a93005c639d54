"""A server listening on an address other machines can reach, without a token, says so at start
(issue 12, "auth that fails closed"): through ``chariots op-store``, ``chariots pipelines`` and the
``chariots.wsgi`` factories under gunicorn. Each server runs in its own process and is stopped."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chariots._serve import is_loopback, warn_if_open
from tests.conftest import HOST, free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINES = "tests.config.pipelines_module:pipelines"


def config_file(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "op_store:\n"
        f"  op_store_db_url: sqlite:///{tmp_path / 'op_store.db'}\n"
        "  saver_type: file-saver\n"
        f"  saver_kwargs: {{root_path: {tmp_path / 'ops'}}}\n"
        f"  server_port: {port}\n"
    )
    return path


def run_and_read_log(command, port: int, **env: str) -> str:
    """Starts a server, waits until it answers on 127.0.0.1, stops it; returns its standard error."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "CHARIOTS_LOG_FORMAT": "text", **env}
    for variable in ("CHARIOTS_OP_STORE_AUTH_TOKEN", "CHARIOTS_PIPELINES_AUTH_TOKEN"):
        if variable not in env:
            environment.pop(variable, None)
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, timeout=30)
        time.sleep(0.5)  # gunicorn's workers build their apps after the port opens
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
    return err


def chariots(*args: str):
    return [sys.executable, "-m", "chariots.cli", *args]


def warnings_about(log: str, what: str) -> list:
    return [line for line in log.splitlines() if " WARNING chariots.serve " in line and f"the {what} listens" in line]


def test_the_op_store_command_on_every_address_without_a_token_warns(tmp_path):
    port = free_port()
    log = run_and_read_log(chariots("op-store", "-c", str(config_file(tmp_path, port)), "--host", "0.0.0.0"), port)
    (warning,) = warnings_about(log, "op store")
    assert warning.endswith(
        f"the op store listens on 0.0.0.0:{port}, an address other machines can reach, without an auth token: "
        "anyone who reaches it can read and overwrite every stored model and pipeline. Set a token with "
        "`chariots op-store --auth-token TOKEN` or the CHARIOTS_OP_STORE_AUTH_TOKEN environment variable "
        "(OpStoreServer(auth_token=...) in Python) (clients then send 'Authorization: Bearer <token>'), or "
        "listen on 127.0.0.1"
    )


def test_the_pipelines_command_on_every_address_without_a_token_warns(tmp_path):
    port = free_port()
    log = run_and_read_log(chariots("pipelines", "-p", PIPELINES, "--host", "0.0.0.0", "--port", str(port)), port)
    (warning,) = warnings_about(log, "pipelines server")
    assert f"the pipelines server listens on 0.0.0.0:{port}, an address other machines can reach" in warning
    assert "`chariots pipelines --auth-token TOKEN` or the CHARIOTS_PIPELINES_AUTH_TOKEN" in warning


@pytest.mark.parametrize("factory, what", [("op_store_app", "op store"), ("pipelines_app", "pipelines server")])
def test_the_wsgi_factories_under_gunicorn_on_every_address_without_a_token_warn(tmp_path, factory, what):
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"0.0.0.0:{port}", f"chariots.wsgi:{factory}()"]
    log = run_and_read_log(command, port, CHARIOTS_CONFIG=str(config_file(tmp_path, free_port())),
                           CHARIOTS_PIPELINES=PIPELINES)
    (warning,) = warnings_about(log, what)
    assert f"the {what} listens on 0.0.0.0:{port}, an address other machines can reach, without an auth token" \
        in warning


def test_loopback_or_a_token_does_not_warn(tmp_path):
    port = free_port()
    config = str(config_file(tmp_path, port))
    loopback = run_and_read_log(chariots("op-store", "-c", config, "--host", HOST), port)
    with_token = run_and_read_log(chariots("op-store", "-c", config, "--host", "0.0.0.0"), port,
                                  CHARIOTS_OP_STORE_AUTH_TOKEN="a-token")
    gunicorn_port = free_port()
    wsgi_loopback = run_and_read_log(
        [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{gunicorn_port}", "chariots.wsgi:op_store_app()"],
        gunicorn_port, CHARIOTS_CONFIG=config,
    )
    for log in (loopback, with_token, wsgi_loopback):
        assert "Booting worker" in log  # the server did start
        assert warnings_about(log, "op store") == []


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.1.2.3", False), ("192.168.0.7", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_warn_if_open_in_process(caplog):
    assert warn_if_open("op store", "0.0.0.0", 5001, None) is True
    assert warn_if_open("op store", "0.0.0.0", 5001, "token") is False
    assert warn_if_open("op store", "127.0.0.1", 5001, None) is False
    (record,) = caplog.records
    assert record.levelname == "WARNING" and record.name == "chariots.serve"
    assert record.getMessage().startswith("the op store listens on 0.0.0.0:5001, an address other machines")
