"""Refuses a project name that cannot be a Python package (the project's main module takes it)."""
import keyword
import re
import sys

project_name = {{ cookiecutter.project_name | tojson }}

problem = None
if not re.fullmatch(r"[a-z_][a-z0-9_]*", project_name):
    problem = "it must start with a lower-case letter or _ and hold only lower-case letters, digits and _"
elif keyword.iskeyword(project_name):
    problem = "it is a Python keyword"
elif project_name in sys.stdlib_module_names or project_name in {"chariots", "tests", "test"}:
    problem = "a module of that name already exists and would be shadowed"

if problem:
    print(f"ERROR: project_name {project_name!r} cannot be used as a Python package name: {problem}. "
          "Try for instance 'iris' or 'my_project'.", file=sys.stderr)
    sys.exit(1)
