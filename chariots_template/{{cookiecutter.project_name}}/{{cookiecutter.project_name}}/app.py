"""The Chariots app serving the project's pipelines.

Its op store (trained models and their versions) lives in the folder named by the
environment variable ``{{ cookiecutter.project_name | upper }}_APP_PATH``, by default in the
project's ``{{ cookiecutter.project_name }}_local`` folder (see :func:`default_app_path`).

``app`` is built the first time it is used (``from {{ cookiecutter.project_name }}.app import app``,
a WSGI server, ``flask --app {{ cookiecutter.project_name }}.app run``), so importing this
module writes nothing: tests call :func:`create_app` with a folder of their own.
"""
from __future__ import annotations

import copy
import os
from typing import Any

from chariots import Chariots

from {{ cookiecutter.project_name }}.pipelines import pipelines

__all__ = ["create_app", "default_app_path"]

APP_PATH_VARIABLE = "{{ cookiecutter.project_name | upper }}_APP_PATH"


def default_app_path() -> str:
    """The folder the app keeps its op store in unless told otherwise.

    ``${{ cookiecutter.project_name | upper }}_APP_PATH`` when set; else the
    ``{{ cookiecutter.project_name }}_local`` folder of the project when the package runs
    from its sources (``pip install -e .``), or of the current folder when it is installed.
    """
    if os.environ.get(APP_PATH_VARIABLE):
        return os.environ[APP_PATH_VARIABLE]
    project_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(project_root, "setup.cfg")):
        project_root = os.getcwd()
    return os.path.join(project_root, "{{ cookiecutter.project_name }}_local")


def create_app(app_path: str | None = None, **kwargs: Any) -> Chariots:
    """Builds the Chariots app serving :data:`{{ cookiecutter.project_name }}.pipelines.pipelines`.

    Each app gets its own copy of the pipelines: the models one app trains and loads stay in
    that app, even when a process (a test session) builds several.

    :param app_path: the folder of the app's op store (:func:`default_app_path` when None)
    :param kwargs: other arguments of :class:`chariots.Chariots` (``auth_token``, ...)
    """
    return Chariots(
        copy.deepcopy(pipelines),
        app_path=app_path or default_app_path(),
        import_name="{{ cookiecutter.project_name }}_app",
        **kwargs,
    )


def __getattr__(name: str) -> Any:
    # `app` is built on first use and then kept as a plain module attribute
    if name == "app":
        app = create_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
