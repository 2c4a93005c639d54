"""Installs {{ cookiecutter.project_name }}; the metadata lives in setup.cfg."""
from setuptools import setup

setup()
