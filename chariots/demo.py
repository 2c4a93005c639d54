"""The ``make demo`` job: the iris project, served, trained and versioned.

It scaffolds the iris example project, serves it, trains, saves, loads and predicts; then
retrains the PCA alone and shows the :class:`~chariots.errors.VersionError` that keeps the
prediction pipeline from pairing the new PCA with a forest trained on the old one; then
retrains the forest, reloads and predicts again. The project stays on disk to continue from.

Runs on the embedded default (local files and SQLite): no Redis, no PostgreSQL. Run it with
``python -m chariots.demo``.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, List, Mapping, Optional

if TYPE_CHECKING:
    from chariots.versioning import Version

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


def _short(version: "Version") -> str:
    """A version in short form: the first five hex digits of its major, minor and patch."""
    return f"{version.major[:5]}.{version.minor[:5]}.{version.patch[:5]}"


def _print_versions(versions: Mapping[str, "Version"]) -> None:
    for name, version in sorted(versions.items()):
        print(f"    {name:<10} {_short(version)}")


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the demo and returns the process exit code.

    :param argv: the command line arguments: an optional folder to create the project in (a new
                 temporary folder by default)
    """
    from chariots._template import generate_project
    from chariots.errors import VersionError
    from chariots.serving import PipelinesClient

    args = sys.argv[1:] if argv is None else argv
    workdir = args[0] if args else tempfile.mkdtemp(prefix="chariots-demo-")
    _step(f"scaffolding the iris example project in {workdir}")
    project_dir = Path(generate_project(workdir, {"project_name": PROJECT, "use_iris_example": "y"}))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    _step(f"starting its pipelines server on {url} (op store: files and SQLite in {PROJECT}_local)")
    python_path = os.pathsep.join(filter(None, [str(project_dir), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=python_path)
    server = subprocess.Popen(
        [sys.executable, "-m", f"{PROJECT}.cli", "start", "--host", "127.0.0.1", "--port", str(port)],
        cwd=project_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    flower = [[1, 2, 3, 4]]
    try:
        _wait_until_up(url, server)
        client = PipelinesClient(url)
        _step("training the PCA and the random forest (pipeline 'train_iris'), saving them")
        client.call_pipeline("train_iris")
        client.save_pipeline("train_iris")
        _step("loading them in the prediction pipeline 'pred_iris' and predicting")
        client.load_pipeline("pred_iris")
        response = client.call_pipeline("pred_iris", flower)
        print(f"    prediction for {flower}: {response.value}, by the ops:")
        _print_versions(response.versions)

        _step("retraining the PCA alone (pipeline 'train_pca'), saving it")
        client.call_pipeline("train_pca")
        client.save_pipeline("train_pca")
        _step("loading 'pred_iris' again: the forest was never trained on the new PCA")
        try:
            client.load_pipeline("pred_iris")
        except VersionError as error:
            print(f"    VersionError: {textwrap.fill(str(error), 96, subsequent_indent='      ')}")
            print("    'pred_iris' keeps serving the models it had:")
            _print_versions(client.pipeline_versions("pred_iris"))
        else:
            raise RuntimeError("loading 'pred_iris' on a PCA its forest was not trained on did not fail")

        _step("retraining the forest on the new PCA (load 'train_rf', call it, save it)")
        client.load_pipeline("train_rf")
        client.call_pipeline("train_rf")
        client.save_pipeline("train_rf")
        _step("loading 'pred_iris' again and predicting")
        client.load_pipeline("pred_iris")
        response = client.call_pipeline("pred_iris", flower)
        print(f"    prediction for {flower}: {response.value}, by the ops:")
        _print_versions(response.versions)
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
    print(f"\nThe project and its trained models are in {project_dir}. To continue from there:")
    print(f"    cd {project_dir} && pip install -e . && {PROJECT} start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
