"""Template fixtures: projects generated once per module, and the environment to run them in."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from chariots.cli import generate_project


def generate(directory: Path, **context: str) -> Path:
    """Generates a project from the template with cookiecutter's files kept in ``directory``."""
    with pytest.MonkeyPatch.context() as patch:
        config = directory / "cookiecutter.yaml"
        config.write_text(f"replay_dir: {directory / 'replay'}\ncookiecutters_dir: {directory / 'cc'}\n")
        patch.setenv("COOKIECUTTER_CONFIG", str(config))
        return Path(generate_project(str(directory), context))


@pytest.fixture(scope="module")
def iris_project(tmp_path_factory) -> Path:
    """The default project (``iris``, with the iris example)."""
    return generate(tmp_path_factory.mktemp("template"), use_iris_example="y")


@pytest.fixture(scope="module")
def plain_project(tmp_path_factory) -> Path:
    """A project without the iris example, with a long name (lines stay short enough)."""
    return generate(tmp_path_factory.mktemp("template"), project_name="plain_flower_classifier", use_iris_example="n")


def project_env(project: Path) -> dict:
    """The environment running a generated project without installing it: its folder importable."""
    python_path = os.pathsep.join(filter(None, [str(project), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path, "PYTHONUNBUFFERED": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return env

