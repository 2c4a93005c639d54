"""Idle connections do not starve ``chariots op-store`` (issue 19, finding 16): with its default
settings it answers ``/health_check`` within 5 s while 40 connections that send nothing are open,
and drops them well before 20 s; on SQLite and PostgreSQL."""
from __future__ import annotations

import socket
import time

import pytest
import requests

from tests.cli.conftest import ChariotsProcess
from tests.conftest import HOST, free_port


def _config(tmp_path, port: int, db_url: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"op_store:\n  op_store_db_url: {db_url}\n  saver_type: file-saver\n"
                    f"  saver_kwargs: {{root_path: {tmp_path / 'ops'}}}\n"
                    f"  server_host: {HOST}\n  server_port: {port}\n")
    return str(path)


def _closed_by_the_server(connection: socket.socket) -> bool:
    try:
        return connection.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_forty_idle_connections_neither_starve_nor_stay(tmp_path, request, database):
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'store.db'}" if database == "sqlite" \
        else request.getfixturevalue("postgres_schema_url")
    store = ChariotsProcess(["op-store", "-c", _config(tmp_path, port, db_url)])
    idle = []
    try:
        store.wait_for_port(port)
        assert requests.get(f"http://{HOST}:{port}/health_check", timeout=10).status_code == 200  # warm
        for _ in range(40):
            connection = socket.create_connection((HOST, port))
            connection.setblocking(False)
            idle.append(connection)
        time.sleep(0.5)  # every one accepted by now
        started = time.monotonic()
        answer = requests.get(f"http://{HOST}:{port}/health_check", timeout=10)
        assert answer.status_code == 200 and time.monotonic() - started < 5.0
        deadline = started + 20.0
        open_ones = list(idle)
        while open_ones and time.monotonic() < deadline:
            open_ones = [connection for connection in open_ones if not _closed_by_the_server(connection)]
            time.sleep(0.2)
        assert open_ones == [], f"{len(open_ones)} idle connections still open after 20 s"
        assert requests.get(f"http://{HOST}:{port}/health_check", timeout=5).status_code == 200
    finally:
        for connection in idle:
            connection.close()
        store.stop()
