"""The ``make demo`` job: scaffold the iris project, serve it, train, save, load and predict.

Runs on the embedded default (local files and SQLite): no Redis, no PostgreSQL. Run it with
``python -m chariots.demo``.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = "iris_demo"


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the demo server stopped early with exit code {process.returncode}")
        try:
            if requests.get(url + "/health_check", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"the demo server did not answer on {url} within {timeout:.0f} s")


def main() -> int:
    """Runs the demo and returns the process exit code."""
    from chariots._template import generate_project
    from chariots.pipelines import PipelinesClient

    with tempfile.TemporaryDirectory(prefix="chariots-demo-") as workdir:
        _step(f"scaffolding the iris example project in {workdir}")
        project_dir = Path(generate_project(workdir, {"project_name": PROJECT, "use_iris_example": "y"}))
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        _step(f"starting its pipelines server on {url} (op store: files and SQLite under {project_dir})")
        python_path = os.pathsep.join(filter(None, [str(project_dir), os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONPATH=python_path)
        server = subprocess.Popen(
            [sys.executable, "-m", f"{PROJECT}.cli", "start", "--host", "127.0.0.1", "--port", str(port)],
            cwd=project_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            _wait_until_up(url, server)
            client = PipelinesClient(url)
            _step("training the PCA and the random forest (pipeline 'train_iris')")
            client.call_pipeline("train_iris")
            _step("saving the trained models to the op store")
            client.save_pipeline("train_iris")
            _step("reloading the prediction pipeline 'pred_iris' with the trained models")
            client.load_pipeline("pred_iris")
            _step("predicting the class of the flower [[1, 2, 3, 4]]")
            response = client.call_pipeline("pred_iris", [[1, 2, 3, 4]])
            print(f"\nprediction: {response.value}")
            print("versions of the prediction pipeline's ops:")
            for name, version in sorted(response.versions.items()):
                print(f"  {name:<12} {version!r}")
        except Exception:
            server.terminate()
            _, errors = server.communicate(timeout=10)
            if errors:
                print(errors, file=sys.stderr)
            raise
        finally:
            if server.poll() is None:
                _step("stopping the server")
                server.terminate()
                server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
