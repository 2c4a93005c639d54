"""Runs a worker for Chariots jobs: ``python -m chariots.workers --url redis://127.0.0.1:6379/0``.

The connection comes from ``--url`` (``redis://``, ``rediss://`` for TLS, ``unix://``), else
from ``--host``/``--port``/``--db``/``--username``/``--unix-socket``/``--ssl``; the password
from the URL or the ``CHARIOTS_REDIS_PASSWORD`` environment variable. Workers started by
:meth:`RQWorkerPool.spawn_worker <chariots.workers.RQWorkerPool.spawn_worker>` get the pool's
connection arguments in the ``CHARIOTS_WORKER_REDIS_ARGUMENTS`` environment variable (JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, Optional, Sequence

from chariots.errors import ChariotsError
from chariots.workers._worker import DEFAULT_ABANDONED_JOB_TIMEOUT, REDIS_ARGUMENTS_ENV, run_worker

PASSWORD_ENV = "CHARIOTS_REDIS_PASSWORD"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chariots.workers",
                                     description="run an RQ worker for Chariots pipeline jobs")
    parser.add_argument("--url", help="Redis URL, e.g. redis://user:password@host:6379/0, rediss://..., unix://...")
    parser.add_argument("--host", help="Redis host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="Redis port (default 6379)")
    parser.add_argument("--db", type=int, help="Redis database (default 0)")
    parser.add_argument("--username", help="Redis user name (ACL)")
    parser.add_argument("--unix-socket", help="path of Redis' unix socket (instead of host and port)")
    parser.add_argument("--ssl", action="store_true", help="connect with TLS")
    parser.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    parser.add_argument("--log-level", default="INFO", help="the worker's logging level (default INFO)")
    parser.add_argument("--preload", action="append", default=[], metavar="MODULE",
                        help="import MODULE before the first job (repeatable)")
    parser.add_argument("--no-preload-job-modules", action="store_true",
                        help="do not import each job's op modules in the worker before forking")
    parser.add_argument("--abandoned-job-timeout", type=float, default=DEFAULT_ABANDONED_JOB_TIMEOUT,
                        metavar="SECONDS", help="a job whose worker sent no heartbeat for this long reads failed "
                        f"(default {DEFAULT_ABANDONED_JOB_TIMEOUT:g})")
    return parser


def redis_arguments(arguments: argparse.Namespace, environ: Optional[Dict[str, str]] = None) -> Any:
    """The Redis URL or :class:`redis.Redis` arguments the command line and environment give."""
    environ = dict(os.environ if environ is None else environ)
    if arguments.url:
        return arguments.url
    kwargs: Dict[str, Any] = json.loads(environ.get(REDIS_ARGUMENTS_ENV) or "{}")
    given = {"host": arguments.host, "port": arguments.port, "db": arguments.db,
             "username": arguments.username, "unix_socket_path": arguments.unix_socket}
    kwargs.update({key: value for key, value in given.items() if value is not None})
    if arguments.ssl:
        kwargs["ssl"] = True
    if environ.get(PASSWORD_ENV):
        kwargs["password"] = environ[PASSWORD_ENV]
    kwargs.setdefault("host", "127.0.0.1")
    return kwargs


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Parses the command line and works the Chariots queue until stopped."""
    arguments = _parser().parse_args(argv)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        run_worker(
            redis_arguments(arguments), burst=arguments.burst, log_level=arguments.log_level,
            preload=arguments.preload, preload_job_modules=not arguments.no_preload_job_modules,
            abandoned_job_timeout=arguments.abandoned_job_timeout,
        )
    except ChariotsError as error:
        sys.exit(f"Error: {error}")


if __name__ == "__main__":
    main()
