"""Serving a WSGI app from the command line, and importing the pipelines a command names.

Library logic behind ``chariots op-store`` and ``chariots pipelines``: the CLI parses its
options, calls these functions and prints what they report.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence

from chariots.errors import ConfigError

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline

__all__ = ["serve_until_stopped", "import_pipelines"]


def serve_until_stopped(
    app: Any, host: str, port: int, what: str, echo: Optional[Callable[[str], None]] = None
) -> None:
    """Serves a WSGI app with werkzeug's threaded server until Ctrl+C or ``SIGTERM``.

    :param app: the WSGI application
    :param host: the address to listen on
    :param port: the port to listen on (0 for any free port)
    :param what: what is served, for the messages (``"op store"``)
    :param echo: where the "Serving ..." and "Stopped ..." lines go (``print`` by default)
    :raises ConfigError: if the address cannot be served (in use, unknown host)
    """
    import signal

    from werkzeug.serving import make_server

    echo = echo or print
    try:
        server = make_server(host, port, app, threaded=True)
    except SystemExit:
        # werkzeug printed the reason (address in use, unknown host) and exits
        raise ConfigError(f"cannot serve the {what} on {host}:{port} (see the reason above)") from None
    except OSError as error:
        raise ConfigError(f"cannot serve the {what} on {host}:{port}: {error}") from None

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    shown_host = f"[{host}]" if ":" in host else host
    echo(f"Serving the {what} on http://{shown_host}:{server.server_port} (press Ctrl+C to stop)")
    try:
        server.serve_forever()  # returns on Ctrl+C or SIGTERM
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        signal.signal(signal.SIGTERM, previous)
    echo(f"Stopped the {what}")


def import_pipelines(references: Sequence[str]) -> List["Pipeline"]:
    """Imports the pipelines named by ``module.path:attribute`` references.

    The current folder is importable, as with ``flask run``: a project's modules are found
    when the command runs from the project's folder.

    :param references: e.g. ``["my_project.pipelines:pipelines"]``; each names a pipeline or a
                       list of pipelines
    :raises ConfigError: naming the reference that is malformed, cannot be imported or is not
                         a pipeline
    """
    from chariots.pipelines import Pipeline

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    pipelines: List[Pipeline] = []
    for reference in references:
        module_name, _, attribute = reference.partition(":")
        if not module_name or not attribute:
            raise ConfigError(f"{reference!r} is not MODULE:ATTRIBUTE, e.g. my_project.pipelines:pipelines")
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # the user's module may raise anything while importing
            raise ConfigError(
                f"cannot import module {module_name!r}: {type(error).__name__}: {error}"
            ) from None
        value: Any = module
        for part in attribute.split("."):
            if not hasattr(value, part):
                raise ConfigError(f"module {module_name!r} has no attribute {attribute!r}")
            value = getattr(value, part)
        items = [value] if isinstance(value, Pipeline) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(item, Pipeline) for item in items):
            raise ConfigError(
                f"{reference} is a {type(value).__name__}, expected a Pipeline or a list of Pipelines"
            )
        pipelines.extend(items)
    return pipelines
