"""Sphinx configuration of the Chariots documentation."""
from __future__ import annotations

import importlib.util
import os
import sys

# document the chariots package of this checkout, installed or not
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import chariots  # noqa: E402

project = "Chariots"
author = "The Chariots authors"
copyright = "2019-2025, The Chariots authors"
version = chariots.__version__
release = chariots.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "sphinx_copybutton",
]

templates_path: list[str] = []
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
master_doc = "index"
language = "en"

html_theme = "furo"
html_title = f"Chariots {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": True,
}
pygments_style = "friendly"
pygments_dark_style = "monokai"

# the copy button copies commands and code without their prompts ($, >>>, ...) or the
# output lines of the reference pages' examples
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_exclude = ".linenos, .gp, .go"

# members in the order the source defines them, signatures without the class name repeated
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True}
autoclass_content = "class"

# Keras (and its JAX backend) is an optional extra: document its op even without it
autodoc_mock_imports = [] if importlib.util.find_spec("keras") else ["keras"]

# no network access while building: intersphinx targets are resolved only if cached
intersphinx_mapping: dict = {}
intersphinx_disabled_reftypes = ["*"]

# the doctest blocks of the pages are run by pytest (see conftest.py), not by Sphinx
