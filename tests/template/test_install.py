"""The project ``chariots new`` makes installs with pip, and its "Next:" line works as printed.

The project is installed in a new virtual environment that sees this checkout's environment
(chariots and its dependencies) through a ``.pth`` file, so pip finds every requirement already
installed and downloads nothing but, at most, the build backend the project's pyproject.toml
names (from pip's configured index or cache).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import pytest

from chariots.pipelines import PipelinesClient
from tests.conftest import free_port


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory) -> Path:
    """A virtual environment with pip, seeing the packages of the environment running the tests."""
    root = tmp_path_factory.mktemp("user_venv")
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(root)
    site_packages = Path(sysconfig.get_paths(vars={"base": str(root), "platbase": str(root)})["purelib"])
    ours = sysconfig.get_paths()["purelib"]
    # addsitedir (not a plain path line) so that the editable install of chariots is found too
    (site_packages / "chariots_checkout.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return root


def _new(tmp_path: Path, answers: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COOKIECUTTER_CONFIG": str(tmp_path / "cookiecutter.yaml")}
    (tmp_path / "cookiecutter.yaml").write_text(
        f"replay_dir: {tmp_path / 'replay'}\ncookiecutters_dir: {tmp_path / 'cc'}\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "chariots.cli", "new", "-o", str(tmp_path)], input=answers,
        capture_output=True, text=True, env=env, timeout=120,
    )


def test_a_bad_project_name_is_asked_again_at_once(tmp_path):
    result = _new(tmp_path, "Bad-Name\nclass\nflowers\n\n\n\n\n\n\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "Error: project_name 'Bad-Name' cannot be a Python package name: use lower-case letters, digits "
        "and _, starting with a letter or _ (e.g. iris, my_project)",
        "Error: project_name 'class' cannot be a Python package name: it is a Python keyword (e.g. iris, "
        "my_project)",
    ]
    # the name was asked three times before the author was asked once
    out = result.stdout
    assert out.count("[1/7] Project name") == 3
    assert out.count("[2/7] Author") == 1 and out.index("[2/7] Author") > out.rindex("[1/7] Project name")
    assert (tmp_path / "flowers" / "flowers" / "pipelines" / "__init__.py").exists()


def test_the_next_line_installs_and_starts_the_project(tmp_path, user_venv):
    result = _new(tmp_path, "flowers\n\n\n\n\n\n\n")
    assert result.returncode == 0, result.stdout + result.stderr
    next_line = result.stdout.strip().splitlines()[-1]
    project = tmp_path / "flowers"
    assert next_line == f"Next: cd {project} && pip install -e . && flowers start"

    port = free_port()
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(user_venv / "bin"), os.environ["PATH"]]),
        "VIRTUAL_ENV": str(user_venv),
        "FLOWERS_PORT": str(port),  # the project's `start` reads its port from the environment too
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("PYTHONPATH", None)
    process = subprocess.Popen(
        ["bash", "-c", next_line.removeprefix("Next: ")], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 240
        for line in process.stdout:
            lines.append(line)
            if "Serving flowers on" in line or time.monotonic() > deadline:
                break
        assert any(f"Serving flowers on http://127.0.0.1:{port}" in line for line in lines), (
            "".join(lines) + (process.stderr.read() if process.poll() is not None else "")
        )
        client = PipelinesClient(f"http://127.0.0.1:{port}")
        assert sorted(client.available_pipelines()) == ["pred_iris", "train_iris", "train_pca", "train_rf"]
        client.call_pipeline("train_iris")
        client.save_pipeline("train_iris")
        client.load_pipeline("pred_iris")
        assert client.call_pipeline("pred_iris", [[5.1, 3.5, 1.4, 0.2]]).value == [0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)

    # installed in the user's environment, editable: the console script and the package
    script = user_venv / "bin" / "flowers"
    assert script.exists()
    located = subprocess.run(
        [str(user_venv / "bin" / "python"), "-c", "import flowers, chariots; print(flowers.__file__)"],
        capture_output=True, text=True, cwd="/", env={k: v for k, v in env.items() if k != "PYTHONPATH"},
    )
    assert located.returncode == 0, located.stderr
    assert Path(located.stdout.strip()) == project / "flowers" / "__init__.py"
    # the trained models are in the project's own folder, where the app's docs say
    assert re.search(r"flowers_local", "\n".join(str(path) for path in (project / "flowers_local").rglob("*")))
