"""Fixtures serving apps on real HTTP servers on 127.0.0.1."""
import threading

import pytest
from werkzeug.serving import make_server


class RunningServer:
    """A WSGI app served by a werkzeug server in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app):
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def serve():
    """Call with an app; returns its base URL. Every server is stopped after the test."""
    servers = []

    def start(app) -> str:
        server = RunningServer(app)
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()
