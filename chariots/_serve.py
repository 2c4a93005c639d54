"""Serving a WSGI app from the command line, and importing the pipelines a command names.

Library logic behind ``chariots op-store`` and ``chariots pipelines``: the CLI parses its
options, calls these functions and prints what they report.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

from chariots.errors import ConfigError

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline

__all__ = ["serve_until_stopped", "serve_with_gunicorn", "op_store_app", "import_pipelines", "DEFAULT_WORKERS",
           "DEFAULT_THREADS", "DEFAULT_TIMEOUT", "warn_if_open", "is_loopback", "listening_addresses",
           "HOW_TO_SET_TOKEN", "give_jobs_the_worker_settings", "serving_settings",
           "MAX_BATCHING_THREADS"]

logger = logging.getLogger("chariots.serve")

#: how to give each server a token, for the warning about a server open to other machines
HOW_TO_SET_TOKEN = {
    "op store": "`chariots op-store --auth-token TOKEN` or the CHARIOTS_OP_STORE_AUTH_TOKEN environment variable "
                "(OpStoreServer(auth_token=...) in Python)",
    "pipelines server": "`chariots pipelines --auth-token TOKEN` or the CHARIOTS_PIPELINES_AUTH_TOKEN environment "
                        "variable (PipelinesServer(auth_token=...) in Python)",
}
_WHAT_A_STRANGER_CAN_DO = {
    "op store": "read and overwrite every stored model and pipeline",
    "pipelines server": "call, load and save every pipeline",
}


def is_loopback(host: str) -> bool:
    """Whether an address to listen on is reachable from this machine only (``127.0.0.1``,
    ``::1``, ``localhost``); ``0.0.0.0``, ``::`` and other hosts are not."""
    import ipaddress
    import socket

    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: loopback only if every address it names is
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
        except OSError:
            return False
        return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def warn_if_open(what: str, host: str, port: int, auth_token: Optional[str]) -> bool:
    """Logs a WARNING when a server listens on an address other machines can reach without a
    token, naming the address and how to set one.

    :param what: ``'op store'`` or ``'pipelines server'``
    :returns: whether it warned
    """
    if auth_token or is_loopback(host):
        return False
    shown = f"[{host}]" if ":" in host else host
    logger.warning(
        "the %s listens on %s:%s, an address other machines can reach, without an auth token: anyone who reaches "
        "it can %s. Set a token with %s (clients then send 'Authorization: Bearer <token>'), or listen on "
        "127.0.0.1", what, shown, port, _WHAT_A_STRANGER_CAN_DO.get(what, "use it"),
        HOW_TO_SET_TOKEN.get(what, "auth_token="),
    )
    return True


def listening_addresses() -> List[Tuple[str, int]]:
    """The TCP addresses this process listens on (a gunicorn worker's inherited listeners), from
    its open file descriptors; empty where they cannot be listed."""
    import socket

    folder = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    try:
        descriptors = [int(name) for name in os.listdir(folder)]
    except (OSError, ValueError):
        return []
    found: List[Tuple[str, int]] = []
    for descriptor in descriptors:
        try:
            candidate = socket.socket(fileno=os.dup(descriptor))
        except OSError:  # not a socket (or already closed)
            continue
        try:
            if candidate.family in (socket.AF_INET, socket.AF_INET6) and candidate.type == socket.SOCK_STREAM \
                    and candidate.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                address = candidate.getsockname()
                found.append((address[0], address[1]))
        except OSError:
            pass
        finally:
            candidate.close()
    return sorted(set(found))


def warn_if_listening_openly(what: str, auth_token: Optional[str]) -> None:
    """:func:`warn_if_open` for each address this process listens on (for app factories, which
    gunicorn calls without telling the address)."""
    if auth_token:
        return
    for host, port in listening_addresses():
        warn_if_open(what, host, port, auth_token)

#: the production server's defaults: one process of four threads, dropping a request stalled 60 s
DEFAULT_WORKERS = 1
DEFAULT_THREADS = 4
DEFAULT_TIMEOUT = 60
#: the threads of each process serving a batched pipeline, at most: concurrent calls meet in a process only
#: as far as it has a thread for each of them
MAX_BATCHING_THREADS = 64


def serving_settings(pipelines: Sequence[Any], workers: Optional[int] = None, threads: Optional[int] = None,
                     port: Optional[int] = None) -> Dict[str, Any]:
    """The gunicorn settings ``chariots pipelines`` serves pipelines with: ``workers``, ``threads``
    (each given one kept), ``worker_class`` and ``reuse_port``.

    Calls of a batched pipeline meet only in one process, and only as many as it has threads:
    when a pipeline is batched, each process gets a thread per row of its largest batch (up to
    :data:`MAX_BATCHING_THREADS`, never fewer than :data:`DEFAULT_THREADS`), and, with several
    processes on a given port, a listening socket of its own (``SO_REUSEPORT``) so that the kernel
    spreads connections over them: on one shared socket, one process may take every keep-alive
    connection and batch alone on one core while the others idle.
    """
    sizes = [pipeline.batching.max_batch_size for pipeline in pipelines
             if getattr(pipeline, "batching", None) is not None]
    if threads is None:
        threads = max(DEFAULT_THREADS, min(max(sizes), MAX_BATCHING_THREADS)) if sizes else DEFAULT_THREADS
    workers = workers or DEFAULT_WORKERS
    return {"workers": workers, "threads": threads, "worker_class": "gthread" if threads > 1 else "sync",
            "reuse_port": bool(sizes) and workers > 1 and bool(port)}


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


def serve_with_gunicorn(
    app_factory: Callable[[], Any],
    host: str,
    port: int,
    what: str,
    workers: int = DEFAULT_WORKERS,
    threads: Optional[int] = None,
    timeout: int = DEFAULT_TIMEOUT,
    echo: Optional[Callable[[str], None]] = None,
    pipelines: Sequence[Any] = (),
) -> None:
    """Serves a WSGI app with gunicorn, a production server, until Ctrl+C or ``SIGTERM``.

    Each worker process builds its own app with ``app_factory`` after gunicorn forked it, so
    no database connection, HTTP connection pool or thread is shared between processes.

    :param app_factory: builds the WSGI application (called once in each worker)
    :param host: the address to listen on
    :param port: the port to listen on (0 for any free port)
    :param what: what is served, for the messages (``"op store"``)
    :param workers: the number of worker processes
    :param threads: the threads of each worker (more than one: gunicorn's ``gthread`` workers; None:
                    :func:`serving_settings` chooses, from ``pipelines``)
    :param timeout: seconds after which a silent worker is restarted; with ``gthread`` workers, an
                    idle keep-alive connection is also dropped after a few seconds
    :param echo: where the "Serving ..." and "Stopped ..." lines go (``print`` by default)
    :param pipelines: the pipelines the app serves, when it is a pipelines server
    :raises ConfigError: if the address cannot be served (in use, unknown host)
    """
    import socket

    from gunicorn.app.base import BaseApplication

    echo = echo or print
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:  # fail at once, as werkzeug did, rather than after gunicorn's five retries
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        raise ConfigError(f"cannot serve the {what} on {host}:{port}: {error}") from None
    shown_host = f"[{host}]" if ":" in host else host

    def when_ready(server: Any) -> None:
        bound = server.LISTENERS[0].sock.getsockname()[1] if server.LISTENERS else port
        echo(f"Serving the {what} on http://{shown_host}:{bound} with {options['workers']} worker process(es) of "
             f"{options['threads']} thread(s) (press Ctrl+C to stop)")

    options = {
        "bind": f"{shown_host}:{port}",
        **serving_settings(pipelines, workers, threads, port),  # a batched pipeline's calls meet in threads
        "timeout": timeout,
        "graceful_timeout": min(timeout, 30),
        "when_ready": when_ready,
        "accesslog": None,
    }

    class _Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from gunicorn.errors import AppImportError

            try:
                return app_factory()
            except Exception as error:  # gunicorn stops every worker on this error instead of respawning
                raise AppImportError(f"the {what} cannot start: {type(error).__name__}: {error}") from error

    arbiter = os.getpid()
    try:
        _Application().run()
    except SystemExit as exit_:
        if os.getpid() != arbiter:  # a worker forked inside run(): its status is gunicorn's to read
            raise  # (turned into 1 here, an app that cannot load was respawned forever)
        if exit_.code not in (None, 0):
            raise ConfigError(f"the {what} stopped: gunicorn exited with status {exit_.code} (see its log above)") \
                from None
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


def op_store_app(config: Any, auth_token: Optional[str] = None) -> Any:
    """The WSGI app of the op store an ``op_store`` config section describes, requiring
    ``auth_token`` when one is given."""
    import inspect

    if auth_token is None:
        server = config.get_server()
    elif "auth_token" in inspect.signature(config.get_server).parameters:
        server = config.get_server(auth_token=auth_token)
    else:  # OpStoreConfig.get_server takes no token: build the same server with it
        from chariots.op_store import OpStoreServer

        server_kwargs: Dict[str, Any] = {"auth_token": auth_token}
        if config.op_store_db_url is not None:
            server_kwargs["db_url"] = config.op_store_db_url
        server = OpStoreServer(config.get_saver(), **server_kwargs)
    return getattr(server, "flask", server)


def give_jobs_the_worker_settings(op_store_config: Any, op_store_auth_token: Optional[str]) -> None:
    """Sets, in a worker's environment, what its jobs' op store clients take from it: a job
    carries no token nor key (it names the op store by URL), and RQ runs each job in a process
    forked from the worker, which reads ``CHARIOTS_SECRET_KEY``, ``CHARIOTS_OLD_SECRET_KEYS`` and
    ``CHARIOTS_OP_STORE_AUTH_TOKEN``.

    :param op_store_config: the config's ``op_store`` section (its ``secret_key`` and
                            ``old_secret_keys``, when it sets a key)
    :param op_store_auth_token: the op store's token, when it requires one
    """
    from chariots._signing import OLD_SECRET_KEYS_ENV, SECRET_KEY_ENV

    if op_store_config.secret_key is not None:
        os.environ[SECRET_KEY_ENV] = op_store_config.secret_key
        os.environ[OLD_SECRET_KEYS_ENV] = ",".join(op_store_config.old_secret_keys or ())
    if op_store_auth_token is not None:
        os.environ["CHARIOTS_OP_STORE_AUTH_TOKEN"] = op_store_auth_token
