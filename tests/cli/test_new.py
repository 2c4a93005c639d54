"""``chariots new`` renders the template shipped with the package."""
import json
import os

import pytest

from chariots.cli import check_template_context, generate_project, template_directory
from chariots.errors import TemplateError

TREE = [
    "AUTHORS.rst", "LICENSE", "MANIFEST.in", "Makefile", "README.rst",
    "docs/Makefile", "docs/authors.rst", "docs/conf.py", "docs/index.rst", "docs/installation.rst",
    "docs/make.bat", "docs/modules.rst",
    "{p}/__init__.py", "{p}/app.py", "{p}/cli.py", "{p}/ops/__init__.py", "{p}/ops/data_ops/__init__.py",
    "{p}/ops/feature_ops/__init__.py", "{p}/ops/model_ops/__init__.py", "{p}/pipelines/__init__.py",
    "{p}_local/data", "{p}_local/ops",
    "notebooks/example_notebook.ipynb", "requirements.txt", "requirements_dev.txt", "setup.cfg", "setup.py",
    "tests/test_server.py",
]


def test_new_no_input_generates_the_documented_tree(run_cli, tmp_path):
    result = run_cli("new", "--no-input", "--output-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    project = tmp_path / "iris"
    assert f"Created the Chariots project iris in {project}" in result.output
    for entry in TREE:
        assert (project / entry.format(p="iris")).exists(), entry


def test_extra_context_sets_the_variables(run_cli, tmp_path):
    result = run_cli("new", "--no-input", "-o", str(tmp_path), "-e", "project_name=flowers",
                     "-e", "author=Ada Lovelace", "-e", "email=ada@example.com", "-e", "use_iris_example=n",
                     "-e", "license=BSD-3-Clause", "-e", "description=Flowers, served")
    assert result.exit_code == 0, result.output
    project = tmp_path / "flowers"
    assert (project / "flowers" / "app.py").exists()
    assert not (project / "flowers" / "ops" / "model_ops" / "iris_rf.py").exists()
    assert "Ada Lovelace <ada@example.com>" in (project / "AUTHORS.rst").read_text()
    assert (project / "LICENSE").read_text().startswith("BSD 3-Clause License")
    setup_cfg = (project / "setup.cfg").read_text()
    assert "name = flowers" in setup_cfg
    assert "description = Flowers, served" in setup_cfg
    assert "flowers = flowers.cli:main" in setup_cfg


def test_prompts_take_typed_answers(run_cli, tmp_path):
    answers = "tulips\nGrace\ngrace@example.com\nTulips\n0.2.0\n3\n2\n"
    result = run_cli("new", "-o", str(tmp_path), input=answers)
    assert result.exit_code == 0, result.output
    project = tmp_path / "tulips"
    assert '__version__ = "0.2.0"' in (project / "tulips" / "__init__.py").read_text()
    assert "not open source" in (project / "LICENSE").read_text()
    assert not (project / "tulips" / "ops" / "data_ops" / "download_iris.py").exists()


def test_the_template_is_found_and_declares_its_variables():
    directory = template_directory()
    with open(os.path.join(directory, "cookiecutter.json")) as stream:
        variables = json.load(stream)
    assert variables["project_name"] == "iris"
    assert variables["use_iris_example"] == ["y", "n"]
    assert {"author", "email", "description"} <= set(variables)


def test_generate_project_is_the_library_call_behind_new(tmp_path):
    project = generate_project(str(tmp_path), {"project_name": "demo_app"})
    assert project == str(tmp_path / "demo_app")
    assert "chariots[sklearn]>=" in (tmp_path / "demo_app" / "requirements.txt").read_text()
    with pytest.raises(TemplateError, match="already exists"):
        generate_project(str(tmp_path), {"project_name": "demo_app"})


def test_check_template_context_raises_template_errors():
    with pytest.raises(TemplateError, match="unknown template variable 'nmae'"):
        check_template_context({"nmae": "x"})
    with pytest.raises(TemplateError, match="project_name 'class' cannot be a Python package name: it is a "
                                            "Python keyword"):
        check_template_context({"project_name": "class"})
