"""The project ``chariots new`` generates: its layout, its files, its tests and its server."""
from __future__ import annotations

import compileall
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chariots.pipelines import PipelinesClient
from tests.conftest import HOST, free_port
from tests.template.conftest import project_env

#: the layout of the reference docs' "Chariots template" page ({p}: the project name)
DOCUMENTED_TREE = [
    "AUTHORS.rst", "LICENSE", "MANIFEST.in", "Makefile", "README.rst",
    "docs/Makefile", "docs/authors.rst", "docs/conf.py", "docs/index.rst", "docs/installation.rst",
    "docs/make.bat", "docs/modules.rst",
    "{p}/__init__.py", "{p}/app.py", "{p}/cli.py",
    "{p}/ops/__init__.py", "{p}/ops/data_ops/__init__.py", "{p}/ops/feature_ops/__init__.py",
    "{p}/ops/model_ops/__init__.py", "{p}/pipelines/__init__.py",
    "{p}_local/data", "{p}_local/ops",
    "notebooks/example_notebook.ipynb",
    "requirements.txt", "requirements_dev.txt", "setup.cfg", "setup.py",
    "tests/test_server.py",
]
IRIS_FILES = [
    "{p}/ops/data_ops/download_iris.py",
    "{p}/ops/feature_ops/x_y_split.py", "{p}/ops/feature_ops/from_array.py",
    "{p}/ops/model_ops/iris_pca.py", "{p}/ops/model_ops/iris_rf.py",
]


def _text_files(project: Path):
    for path in project.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


@pytest.mark.parametrize("fixture, name, with_iris", [("iris_project", "iris", True),
                                                      ("plain_project", "plain_flower_classifier", False)])
def test_layout(request, fixture, name, with_iris):
    project = request.getfixturevalue(fixture)
    assert project.name == name
    for entry in DOCUMENTED_TREE:
        assert (project / entry.format(p=name)).exists(), entry
    for entry in IRIS_FILES:
        assert (project / entry.format(p=name)).exists() is with_iris, entry


@pytest.mark.parametrize("fixture", ["iris_project", "plain_project"])
def test_everything_was_rendered(request, fixture):
    project = request.getfixturevalue(fixture)
    for path in _text_files(project):
        text = path.read_text()
        for leftover in ("{{", "{%", "cookiecutter"):
            assert leftover not in text, f"{path.relative_to(project)} still holds {leftover!r}"


@pytest.mark.parametrize("fixture", ["iris_project", "plain_project"])
def test_python_files_compile_and_notebook_is_valid(request, fixture):
    project = request.getfixturevalue(fixture)
    assert compileall.compile_dir(str(project), quiet=1, force=True)
    notebook = json.loads((project / "notebooks" / "example_notebook.ipynb").read_text())
    assert notebook["nbformat"] == 4 and notebook["nbformat_minor"] >= 4
    assert [cell["cell_type"] for cell in notebook["cells"]] == ["markdown", "code"]
    for cell in notebook["cells"]:
        assert isinstance(cell["source"], list) and isinstance(cell["metadata"], dict)
    assert notebook["cells"][1]["outputs"] == []


def test_project_metadata(iris_project):
    setup_cfg = (iris_project / "setup.cfg").read_text()
    assert "iris = iris.cli:main" in setup_cfg
    assert "chariots[sklearn]>=" in setup_cfg
    assert "chariots[sklearn]>=" in (iris_project / "requirements.txt").read_text()


def test_ruff_passes_on_the_generated_project(iris_project, plain_project):
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    for project in (iris_project, plain_project):
        result = subprocess.run([ruff, "check", "--no-cache", "."], cwd=project, capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("fixture, passed", [("iris_project", 4), ("plain_project", 1)])
def test_the_generated_tests_pass(request, fixture, passed):
    project = request.getfixturevalue(fixture)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project, env=project_env(project), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{passed} passed" in result.stdout


def test_the_project_cli_has_help(iris_project):
    result = subprocess.run([sys.executable, "-m", "iris.cli", "start", "--help"], cwd=iris_project,
                            env=project_env(iris_project), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for option in ("--host", "--port", "--app-path"):
        assert option in result.stdout


class ProjectServer:
    """``python -m <project>.cli start`` on a free port of 127.0.0.1."""

    def __init__(self, project: Path, app_path: Path):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"{project.name}.cli", "start", "--host", HOST, "--port", str(self.port),
             "--app-path", str(app_path)],
            cwd=project, env=project_env(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"the project's server exited: {self.process.communicate()[1]}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the project's server did not start within 60 s"
                time.sleep(0.05)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, err = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        return self.process.returncode, out, err


def test_start_serves_predictions_after_training_and_after_a_restart(iris_project, tmp_path):
    app_path = tmp_path / "iris_app"
    server = ProjectServer(iris_project, app_path)
    try:
        client = PipelinesClient(server.url)
        assert sorted(client.available_pipelines()) == ["pred_iris", "train_iris", "train_pca", "train_rf"]
        client.call_pipeline("train_iris")
        client.save_pipeline("train_iris")
        client.load_pipeline("pred_iris")
        response = client.call_pipeline("pred_iris", [[5.1, 3.5, 1.4, 0.2]])
        assert response.value == [0]
        assert set(response.versions) == {"irispca", "irisrf", "fromarray"}
    finally:
        code, out, err = server.stop()
    assert code == 0, err
    assert f"Serving iris on {server.url}" in out and "Stopped" in out

    # a restarted server loads the saved models from its app path: it predicts without training
    server = ProjectServer(iris_project, app_path)
    try:
        again = PipelinesClient(server.url).call_pipeline("pred_iris", [[5.1, 3.5, 1.4, 0.2]])
        assert again.value == [0]
        assert again.versions == response.versions
    finally:
        server.stop()


def test_an_installed_template_with_compiled_files_generates_none(tmp_path):
    # pip compiles the template's valid .py files when it installs chariots: the copies of those
    # __pycache__ folders must not end up in the projects
    from cookiecutter.main import cookiecutter

    from chariots.cli import template_directory

    template = tmp_path / "installed_template"
    shutil.copytree(template_directory(), template, ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(str(template), quiet=2)
    assert list(template.rglob("__pycache__"))
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\ncookiecutters_dir: {tmp_path / 'cc'}\n")
    project = cookiecutter(str(template), no_input=True, output_dir=str(tmp_path / "out"),
                           config_file=str(config))
    assert (Path(project) / "setup.py").exists()
    assert not list(Path(project).rglob("__pycache__"))
    assert not list(Path(project).rglob("*.pyc"))


@pytest.mark.parametrize("fixture", ["iris_project", "plain_project"])
def test_the_generated_docs_build_without_warnings(request, fixture, tmp_path):
    pytest.importorskip("sphinx", reason="sphinx is installed with chariots[docs]")
    project = request.getfixturevalue(fixture)
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", "docs", str(tmp_path / "html")],
        cwd=project, env=project_env(project), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "html" / "modules.html").exists()
