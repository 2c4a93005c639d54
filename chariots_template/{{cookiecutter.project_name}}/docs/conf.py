"""Sphinx configuration of the {{ cookiecutter.project_name }} documentation."""
import os
import sys

# document the project from this checkout, installed or not
sys.path.insert(0, os.path.abspath(".."))

import {{ cookiecutter.project_name }}  # noqa: E402

project = "{{ cookiecutter.project_name }}"
author = {{ cookiecutter.author | tojson }}
copyright = author
version = release = {{ cookiecutter.project_name }}.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
templates_path = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
