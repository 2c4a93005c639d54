"""The one worker launcher: ``chariots workers``, ``python -m chariots.workers`` and
:meth:`RQWorkerPool.spawn_worker <chariots.workers.RQWorkerPool.spawn_worker>` all run :func:`run_worker`.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import math
import signal
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Union

from chariots._signing import KeySource
from chariots.errors import ConfigError, MissingExtraError, ServiceUnavailableError, SignatureError
from chariots.workers._job_fields import MODULES, keys_of, unseal_json
from chariots.workers._rq_job import MODULES_META, SignedRQSerializer, job_meta, record_work_horse_killed

if TYPE_CHECKING:
    from redis import ConnectionPool, Redis

#: the RQ queue Chariots jobs go to
QUEUE_NAME = "chariots_workers"
#: seconds without a heartbeat after which a running job is failed (its worker died or is cut off)
DEFAULT_ABANDONED_JOB_TIMEOUT = 60.0
#: seconds a job may run before RQ stops it
DEFAULT_JOB_TIMEOUT = 3600
#: the environment variable a spawned worker reads its Redis connection arguments from (JSON)
REDIS_ARGUMENTS_ENV = "CHARIOTS_WORKER_REDIS_ARGUMENTS"

RedisSpec = Union["Redis", "ConnectionPool", str, Mapping[str, Any], None]

_log = logging.getLogger("chariots.workers")


def import_rq():
    """Imports redis and rq, or fails with the ``pip install chariots[workers]`` line."""
    try:
        import redis
        import rq
    except ImportError as error:
        raise MissingExtraError(error.name or "rq", "workers") from error
    return redis, rq


def redis_connection(spec: RedisSpec = None) -> "Redis":
    """A Redis connection from a connection, a connection pool, a URL or :class:`redis.Redis` arguments.

    :param spec: a :class:`redis.Redis` (used as is), a :class:`redis.ConnectionPool`, a URL
                 (``redis://``, ``rediss://`` for TLS, ``unix://`` for a socket; user name and
                 password may be in it) or a mapping of :class:`redis.Redis` arguments (``host``,
                 ``port``, ``db``, ``username``, ``password``, ``unix_socket_path``, ``ssl``...);
                 None for ``127.0.0.1:6379``
    :raises ConfigError: if ``spec`` is none of those, or a mapping with an unknown argument
    """
    redis_module, _ = import_rq()
    if isinstance(spec, redis_module.Redis):
        return spec
    if isinstance(spec, redis_module.ConnectionPool):
        return redis_module.Redis(connection_pool=spec)
    if isinstance(spec, str):
        try:
            return redis_module.Redis.from_url(spec)
        except ValueError as error:
            raise ConfigError(f"{spec!r} is not a Redis URL ({error}), e.g. redis://127.0.0.1:6379/0") from None
    if spec is None or isinstance(spec, Mapping):
        kwargs = dict(spec or {})
        allowed = set(inspect.signature(redis_module.Redis.__init__).parameters) - {"self"}
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise ConfigError(
                f"unknown Redis connection argument(s) {', '.join(map(repr, unknown))}: "
                "use the arguments of redis.Redis (host, port, db, username, password, unix_socket_path, ssl...)"
            )
        return redis_module.Redis(**kwargs)
    raise ConfigError(
        f"cannot connect to Redis with a {type(spec).__name__}: give a redis.Redis, a ConnectionPool, "
        "a URL or a mapping of redis.Redis arguments"
    )


def connection_arguments(redis: "Redis") -> Dict[str, Any]:
    """The plain :class:`redis.Redis` arguments rebuilding ``redis``'s connection in another process.

    Keeps the address (host and port, or the unix socket), database, user name, password, TLS
    and timeout settings; leaves out what cannot cross a process boundary (retry objects,
    callbacks).
    """
    redis_module, _ = import_rq()
    pool = redis.connection_pool
    kwargs = dict(pool.connection_kwargs)
    connection_class = getattr(pool, "connection_class", None)
    if "path" in kwargs:
        kwargs["unix_socket_path"] = kwargs.pop("path")
    if connection_class is not None and issubclass(connection_class, redis_module.SSLConnection):
        kwargs["ssl"] = True
    allowed = set(inspect.signature(redis_module.Redis.__init__).parameters) - {"self"}
    plain = (str, int, float, bool, type(None))
    return {key: value for key, value in kwargs.items() if key in allowed and isinstance(value, plain)}


def describe_connection(redis: "Redis") -> str:
    """Where ``redis`` connects, for messages (never the password)."""
    kwargs = redis.connection_pool.connection_kwargs
    if kwargs.get("path"):
        where = f"unix socket {kwargs['path']}"
    else:
        where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
    return f"{where} (db {kwargs.get('db', 0)})"


def heartbeat_settings(abandoned_job_timeout: float) -> Dict[str, int]:
    """RQ's heartbeat TTL and monitoring interval for a bound on how long a dead worker's job reads running.

    RQ moves a started job whose last heartbeat is older than its TTL to the failed jobs when
    its registry is cleaned; the registry's timestamps have a one second resolution, so the
    TTL is one second under the bound, and heartbeats come three times per TTL.
    """
    if abandoned_job_timeout < 3:
        raise ConfigError(
            f"abandoned_job_timeout must be at least 3 seconds (heartbeats are sent every second at best), "
            f"got {abandoned_job_timeout!r}"
        )
    ttl = int(math.floor(abandoned_job_timeout)) - 1
    return {"ttl": ttl, "interval": max(1, ttl // 3)}


def _worker_class():
    _, rq = import_rq()
    from chariots.workers._rq_classes import ChariotsJob, ChariotsQueue, clean_registries, subscribe_to_commands

    class ChariotsWorker(rq.Worker):
        """An RQ worker with short heartbeats, structured failures and modules imported once, that
        acts on nothing unsigned Redis data names.

        Before forking the work horse of a job, the worker imports the modules the job's ops
        come from (recorded, sealed for the job, in its meta when it was queued): the horse
        inherits them, so a job does not import scikit-learn or Keras again. It is RQ's "preload
        the app in the worker" advice, made automatic.

        Its jobs and queues are :class:`~chariots.workers._rq_classes.ChariotsJob` and
        :class:`~chariots.workers._rq_classes.ChariotsQueue` (no callback, webhook, retry or
        dependent that a job's hash names), its maintenance fails abandoned jobs with
        :func:`~chariots.workers._rq_classes.fail_abandoned_jobs` rather than RQ's cleanup, and it
        polls RQ's command channel every second (see
        :func:`~chariots.workers._rq_classes.subscribe_to_commands`).
        """

        job_class = ChariotsJob
        queue_class = ChariotsQueue
        max_connection_wait_time = 3.0  # retry a lost Redis at least every 3 s

        def __init__(self, *args: Any, abandoned_job_timeout: float = DEFAULT_ABANDONED_JOB_TIMEOUT,
                     preload_job_modules: bool = True, **kwargs: Any):
            settings = heartbeat_settings(abandoned_job_timeout)
            kwargs.setdefault("job_monitoring_interval", settings["interval"])
            kwargs.setdefault("maintenance_interval", max(1, int(abandoned_job_timeout)))
            # an idle worker waits for a job this long (RQ: worker_ttl - 15 s) before its next
            # heartbeat: short enough to notice a Redis that restarted empty (see heartbeat)
            kwargs.setdefault("worker_ttl", 15 + max(5, int(abandoned_job_timeout)))
            kwargs.setdefault("work_horse_killed_handler", record_work_horse_killed)
            super().__init__(*args, **kwargs)
            self.heartbeat_ttl = settings["ttl"]
            self.preload_job_modules = preload_job_modules
            self.stop_requested = False
            # RQ installs its handlers once registered: a SIGTERM in between would kill the
            # worker without a clean stop
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)

        def get_heartbeat_ttl(self, job: Any) -> int:
            return self.heartbeat_ttl

        def heartbeat(self, timeout: Optional[int] = None, pipeline: Any = None) -> None:
            if pipeline is None and not self.connection.hexists(self.key, "birth"):
                # Redis lost this worker's registration (it restarted empty): without it the
                # worker still takes jobs, but pools count no worker (n_workers 0)
                self.log.warning("Worker %s: Redis no longer knows this worker (restarted?): registering it again",
                                 self.name)
                self.connection.delete(self.key)
                self.register_birth()
            super().heartbeat(timeout, pipeline)

        def request_stop(self, signum: Any, frame: Any) -> None:
            self.stop_requested = True
            super().request_stop(signum, frame)

        def subscribe(self) -> None:
            subscribe_to_commands(self)

        def execute_job(self, job: Any, queue: Any) -> None:
            if self.preload_job_modules:
                preload_modules(job_modules(job), strict=False)
            super().execute_job(job, queue)

        def clean_registries(self) -> None:
            clean_registries(self)

    return ChariotsWorker


def job_modules(job: Any) -> Sequence[str]:
    """The modules a job's ops come from, as its pool sealed them for it (none when they are not)."""
    try:
        return unseal_json(keys_of(job.serializer), job.id, MODULES, job_meta(job).get(MODULES_META))
    except SignatureError as refused:
        _log.warning("Job %s: its modules are not preloaded: %s", job.id, refused)
        return ()


def preload_modules(modules: Iterable[str], strict: bool = True) -> None:
    """Imports ``modules`` (once: imported modules stay in ``sys.modules``).

    :param strict: raise for a module that cannot be imported; otherwise log it and go on
                   (the job itself then fails with the import error)
    :raises ConfigError: naming the module, when ``strict``
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # the user's module may raise anything while importing
            message = f"cannot preload module {name!r}: {type(error).__name__}: {error}"
            if strict:
                raise ConfigError(f"{message}; run the worker where your project's modules import") from None
            _log.warning(message)


def run_worker(
    redis: RedisSpec = None,
    *,
    queue_name: str = QUEUE_NAME,
    burst: bool = False,
    log_level: str = "INFO",
    preload: Sequence[str] = (),
    preload_job_modules: bool = True,
    abandoned_job_timeout: float = DEFAULT_ABANDONED_JOB_TIMEOUT,
    reconnect: bool = True,
    echo: Optional[Callable[[str], None]] = None,
    secret_key: Optional[str] = None,
    old_secret_keys: Optional[Sequence[str]] = None,
) -> int:
    """Works the Chariots queue until stopped (Ctrl+C, ``SIGTERM``), or until it is empty with ``burst``.

    When Redis goes away the worker waits for it and goes on: a Redis restart does not stop it.

    :param redis: the Redis to work for (see :func:`redis_connection`: a connection, a pool, a
                  URL or :class:`redis.Redis` arguments)
    :param queue_name: the queue to take jobs from
    :param burst: stop once the queue is empty
    :param log_level: RQ's logging level
    :param preload: modules to import before the first job (your project's pipelines, say)
    :param preload_job_modules: import each job's op modules in the worker before forking, so
                                the next jobs find them imported
    :param abandoned_job_timeout: seconds without a heartbeat after which a job of this worker
                                  reads ``failed`` (at least 3)
    :param reconnect: wait for Redis and go on when it is lost (otherwise return)
    :param echo: where the worker's status lines go (``print`` by default)
    :param secret_key: the key job payloads and results are signed with (None: ``CHARIOTS_SECRET_KEY``,
                       else the user's key file); a job signed with no accepted key fails unread
    :param old_secret_keys: keys of earlier rotations, still accepted
    :returns: the number of times the worker (re)started working
    :raises ServiceUnavailableError: if Redis cannot be reached when the worker starts
    :raises ConfigError: for a bad connection argument or a module of ``preload`` that does not import
    """
    redis_module, rq = import_rq()
    echo = echo or print
    connection = redis_connection(redis)
    heartbeat_settings(abandoned_job_timeout)  # checked before anything starts
    serializer = SignedRQSerializer(KeySource(secret_key, old_secret_keys))
    serializer.key_source.keys  # noqa: B018 - a missing or empty key fails before the worker starts
    where = describe_connection(connection)
    try:
        connection.ping()
    except redis_module.exceptions.ConnectionError as error:
        raise ServiceUnavailableError(f"cannot reach Redis at {where}: {error}") from None
    preload_modules(preload)
    worker_class = _worker_class()
    from chariots.workers._rq_classes import ChariotsQueue
    echo(f"Worker listening to the {queue_name!r} queue of Redis at {where}")
    starts = 0
    while True:
        starts += 1
        queue = ChariotsQueue(queue_name, connection=connection, serializer=serializer)
        worker = worker_class(
            [queue], connection=connection, serializer=serializer,
            abandoned_job_timeout=abandoned_job_timeout, preload_job_modules=preload_job_modules,
        )
        lost: Optional[BaseException] = None
        try:
            worker.work(burst=burst, logging_level=log_level)
        except rq.exceptions.StopRequested:  # a stop signal while the worker was starting or shutting down
            _unregister(worker, redis_module)
            break
        except (redis_module.exceptions.ConnectionError, redis_module.exceptions.TimeoutError) as error:
            lost = error
        if worker.stop_requested or burst or not reconnect:
            break
        # RQ's loop ended on its own: Redis went away (a timeout, or an error outside its retries)
        echo(f"Lost Redis at {where} ({lost or 'the worker loop ended'}); reconnecting")
        if not _wait_for(connection, redis_module, lambda current=worker: current.stop_requested):
            break
        echo(f"Reconnected to Redis at {where}")
    echo("Worker stopped")
    return starts


def _unregister(worker: Any, redis_module: Any) -> None:
    try:
        worker.register_death()
    except (redis_module.exceptions.ConnectionError, redis_module.exceptions.TimeoutError):
        pass  # its key expires with its TTL


def _wait_for(
    connection: "Redis", redis_module: Any, stopped: Callable[[], bool], max_wait: float = 3.0
) -> bool:
    """Pings Redis with a growing wait until it answers (True) or a stop is requested (False)."""
    wait = 0.2
    while not stopped():
        try:
            connection.ping()
            return True
        except (redis_module.exceptions.ConnectionError, redis_module.exceptions.TimeoutError):
            time.sleep(wait)
            wait = min(wait * 2, max_wait)
    return False
