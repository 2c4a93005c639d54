"""The cookiecutter template ``chariots new`` renders (data only: nothing here is imported)."""
import os

__all__ = ["TEMPLATE_DIRECTORY"]

#: the folder holding ``cookiecutter.json``, the hooks and the project tree
TEMPLATE_DIRECTORY = os.path.dirname(os.path.abspath(__file__))
