"""App factories for WSGI servers: the op store and the pipelines server built from a YAML config.

For gunicorn (or any server taking an app factory), in each worker process::

    CHARIOTS_CONFIG=config.yaml gunicorn -w 4 'chariots.wsgi:op_store_app()'
    CHARIOTS_CONFIG=config.yaml CHARIOTS_PIPELINES=my_project.pipelines:pipelines \\
        gunicorn -w 4 'chariots.wsgi:pipelines_app()'

Do not pass ``--preload``: each worker must build its own app (database connections, HTTP
pools and the thread following served generations are not shared across a fork).
``chariots op-store`` and ``chariots pipelines`` do the same with their ``--workers``,
``--threads`` and ``--timeout`` options.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Sequence

from chariots.errors import ConfigError

__all__ = ["op_store_app", "pipelines_app", "CONFIG_VARIABLE", "PIPELINES_VARIABLE"]

#: the environment variable naming the YAML config file
CONFIG_VARIABLE = "CHARIOTS_CONFIG"
#: the environment variable naming the pipelines to serve (``module:attribute``, comma-separated)
PIPELINES_VARIABLE = "CHARIOTS_PIPELINES"


def _config(config_file: Optional[str]) -> Any:
    from chariots.config import ChariotsConfig

    config_file = config_file or os.environ.get(CONFIG_VARIABLE)
    if not config_file:
        raise ConfigError(
            f"no config file: set the {CONFIG_VARIABLE} environment variable to the YAML config's path "
            "(or pass config_file=)"
        )
    return ChariotsConfig(config_file)


def op_store_app(config_file: Optional[str] = None, auth_token: Optional[str] = None) -> Any:
    """The WSGI app of the op store of a config's ``op_store`` section.

    :param config_file: the YAML config (default: the ``CHARIOTS_CONFIG`` environment variable)
    :param auth_token: the bearer token to require (default: ``CHARIOTS_OP_STORE_AUTH_TOKEN``)
    :raises ConfigError: if no config is given, or it is invalid (naming the key), or a token is
                         empty (given, or set in the environment: an empty token is no "auth off")
    """
    from chariots._http import checked_token_setting, environment_token
    from chariots._serve import op_store_app as build
    from chariots._serve import warn_if_listening_openly

    if auth_token is not None:
        token = checked_token_setting(auth_token, "op_store_app(auth_token=...)")
    else:
        token = environment_token("CHARIOTS_OP_STORE_AUTH_TOKEN")
    app = build(_config(config_file).op_store_config, token)
    warn_if_listening_openly("op store", token)  # gunicorn's listeners, inherited by this worker
    return app


def pipelines_app(config_file: Optional[str] = None, pipelines: Optional[Sequence[str]] = None) -> Any:
    """The pipelines server of a config (its op store and workers included), serving the
    pipelines named by ``module:attribute`` references.

    :param config_file: the YAML config (default: the ``CHARIOTS_CONFIG`` environment variable)
    :param pipelines: the references (default: ``CHARIOTS_PIPELINES``, comma-separated)
    :raises ConfigError: if no config or no pipelines are given, or one cannot be imported, or a
                         token variable is set but empty
    """
    from chariots._http import environment_token
    from chariots._serve import import_pipelines

    references = list(pipelines or [part.strip() for part in os.environ.get(PIPELINES_VARIABLE, "").split(",")
                                    if part.strip()])
    if not references:
        raise ConfigError(
            f"no pipelines to serve: set {PIPELINES_VARIABLE}=my_project.pipelines:pipelines (or pass pipelines=)"
        )
    config = _config(config_file)
    config.pipelines_config.pipelines.extend(import_pipelines(references))
    config.pipelines_config.check()
    token = environment_token("CHARIOTS_PIPELINES_AUTH_TOKEN")
    server = config.get_pipelines_server(
        op_store_auth_token=environment_token("CHARIOTS_OP_STORE_AUTH_TOKEN"),
        **({"auth_token": token} if token else {}),
    )
    from chariots._serve import warn_if_listening_openly

    warn_if_listening_openly("pipelines server", token)  # gunicorn's listeners, inherited by this worker
    return server
