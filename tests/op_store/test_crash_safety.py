"""SIGKILL mid-save leaves the previous version loadable and no registered version without its bytes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import pytest
import requests

from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.testing import TestOpStoreClient
from tests.conftest import free_port, partial_write_seen, wait_for_port
from tests.op_store.ops import big_model_pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHUNK = 1024 * 1024


def crash_process(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.op_store.crash_process", *args], cwd=ROOT, **kwargs)


def wait_for_partial_write(saver_root, minimum: int, timeout: float = 60) -> None:
    """Waits until a temporary file of at least ``minimum`` bytes is being written under the root."""
    if not partial_write_seen(saver_root, minimum, timeout):
        raise TimeoutError("no partial write seen under the saver root")


def assert_store_consistent(client, previous_payload: bytes) -> None:
    """The previous version loads, and every listed version has its bytes."""
    versions = client.get_all_versions_of_op("bigmodel")
    assert len(versions) == 1
    for version in versions:
        client.get_op_bytes_for_version("bigmodel", version)
    loaded = big_model_pipeline().load(client)
    assert loaded.node_for_name["bigmodel"].op.payload == previous_payload


@pytest.mark.slow
def test_killing_the_server_mid_upload(tmp_path, wsgi_server):
    saver_root, db_path, port = tmp_path / "saver", tmp_path / "op_store.db", free_port()
    server = crash_process("serve", str(saver_root), str(db_path), str(port))
    try:
        wait_for_port(port, timeout=30)
        url = f"http://127.0.0.1:{port}"
        big_model_pipeline(b"first model").save(OpStoreClient(url))
        second = big_model_pipeline(b"\x01" * 300 * CHUNK).node_for_name["bigmodel"].node_version
        stop = threading.Event()

        def slow_body():
            for index in range(300):
                if stop.is_set():
                    return
                if index > 8:
                    time.sleep(0.02)
                yield b"\x01" * CHUNK

        def upload():
            try:
                requests.put(f"{url}/ops/bigmodel/versions/{quote(str(second), safe='')}", data=slow_body(), timeout=60)
            except requests.RequestException:
                pass

        uploader = threading.Thread(target=upload)
        uploader.start()
        wait_for_partial_write(saver_root, 4 * CHUNK)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        stop.set()
        uploader.join(timeout=60)
    finally:
        server.kill()
        server.wait()

    restarted = OpStoreServer(FileSaver(str(saver_root)), db_url=f"sqlite:///{db_path}")
    client = OpStoreClient(wsgi_server(restarted.flask))
    assert_store_consistent(client, b"first model")
    assert not (saver_root / "ops" / "bigmodel" / f"{second.major}_{second.minor}_{second.patch}").exists()
    # the interrupted version can be saved again afterwards
    client.save_op_bytes("bigmodel", second, b"\x01" * 10)
    assert client.get_op_bytes_for_version("bigmodel", second) == b"\x01" * 10
    restarted.close()


@pytest.mark.slow
def test_killing_an_in_process_store_mid_save(tmp_path):
    path = tmp_path / "store"
    process = crash_process("save", str(path), str(400 * CHUNK), stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "saved"
        wait_for_partial_write(path / "ops", CHUNK)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()
        process.stdout.close()

    assert process.returncode == -signal.SIGKILL
    client = TestOpStoreClient(str(path))
    assert_store_consistent(client, b"first model")
    client.close()
