"""The sections of a configuration: the op store, the pipelines and their workers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Mapping, Optional, Union

from chariots.config._checks import (
    check_db_url,
    check_host,
    check_optional,
    check_port,
    check_type,
    port_number,
    quoted,
)
from chariots.config._plugins import RUNNER_TYPES, SAVER_TYPES, WORKER_TYPES
from chariots.config._redact import MASK, masked_settings, masked_url
from chariots.errors import ConfigError
from chariots.pipelines import Pipeline
from chariots.pipelines.callbacks import PipelineCallback
from chariots.pipelines.runners import BaseRunner

if TYPE_CHECKING:
    from chariots.op_store import OpStoreClient, OpStoreServer
    from chariots.op_store.savers import BaseSaver
    from chariots.serving import PipelinesClient
    from chariots.workers import BaseWorkerPool

__all__ = [
    "DEFAULT_HOST", "DEFAULT_OP_STORE_PORT", "DEFAULT_PIPELINES_PORT",
    "OpStoreConfig", "PipelinesConfig", "WorkersConfig",
]

#: the host servers listen on, and clients call, when none is configured
DEFAULT_HOST = "127.0.0.1"
#: the port of the op store when none is configured
DEFAULT_OP_STORE_PORT = 5001
#: the port of the pipelines server when none is configured (the client's default too)
DEFAULT_PIPELINES_PORT = 5000


def _url(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


def _normalised_port(value: Any) -> Any:
    port = port_number(value)
    return port if port is not None else value  # a bad value is left for check() to report


class _ServerAddress:
    """Where a configured server listens and its clients call: ``server_host`` and ``server_port``
    or the defaults."""

    server_host: Optional[str]
    server_port: Union[str, int, None]
    #: the port used when none is configured
    default_port: int

    @property
    def host(self) -> str:
        """the configured host, or the default one"""
        return self.server_host or DEFAULT_HOST

    @property
    def port(self) -> int:
        """the configured port, or the default one"""
        return int(self.server_port or self.default_port)

    @property
    def url(self) -> str:
        """the base URL clients call"""
        return _url(self.host, self.port)


class OpStoreConfig(_ServerAddress):
    """Configuration of the op store server, and of the clients that call it.

    :param server_host: the host the server listens on and clients call (``127.0.0.1`` by
                        default): a bare host name or IP address, without scheme or port
    :param server_port: the port of the server (5001 by default)
    :param saver_type: how the server persists op bytes: ``'file-saver'`` or ``'google-storage-saver'``
                       (case and ``_``/``-`` do not matter, and class names such as ``'FileSaver'`` work)
    :param saver_kwargs: the keyword arguments of the saver (``root_path``, and for Google
                         Storage ``bucket_name`` and ``client_kwargs``)
    :param op_store_db_url: the SQLAlchemy URL of the op store database (its password is hidden in reprs)
    :param secret_key: the key the clients sign and check the bytes of states with (hidden in
                       reprs; None: ``CHARIOTS_SECRET_KEY``, else the user's key file)
    :param old_secret_keys: keys of earlier rotations, still accepted when loading
    :raises ConfigError: naming the ``op_store.<key>`` that is wrong
    """

    default_port = DEFAULT_OP_STORE_PORT

    _section: ClassVar[str] = "op_store"

    def __init__(
        self,
        server_host: Optional[str] = None,
        server_port: Union[str, int, None] = None,
        saver_type: Optional[str] = None,
        saver_kwargs: Optional[Dict[str, Any]] = None,
        op_store_db_url: Optional[str] = None,
        secret_key: Optional[str] = None,
        old_secret_keys: Optional[List[str]] = None,
    ):
        self.server_host = server_host
        self.server_port = _normalised_port(server_port)
        self.saver_type = SAVER_TYPES.canonical(saver_type)
        self.saver_kwargs = saver_kwargs
        self.op_store_db_url = op_store_db_url
        self.secret_key = secret_key
        self.old_secret_keys = old_secret_keys
        self.check()

    def check(self) -> None:
        """Checks every setting, changing none (called at creation and again before building anything).

        :raises ConfigError: naming the key that is wrong, what was expected and the allowed values
        """
        check_host("op_store.server_host", self.server_host)
        check_port("op_store.server_port", self.server_port)
        SAVER_TYPES.check_name("op_store.saver_type", self.saver_type)
        check_optional("op_store.saver_kwargs", self.saver_kwargs, (Mapping,), "a mapping")
        if self.saver_kwargs is not None:
            SAVER_TYPES.get(self.saver_type).check_arguments("op_store.saver_kwargs", self.saver_kwargs)
        elif self.saver_type is not None:
            saver = SAVER_TYPES.get(self.saver_type)
            raise ConfigError(
                f"op_store.saver_kwargs is required by saver_type {saver.name!r} "
                f"(keys: {quoted(saver.required_arguments)})"
            )
        check_db_url("op_store.op_store_db_url", self.op_store_db_url)
        from chariots._signing import check_key

        if self.secret_key is not None:
            check_key(self.secret_key, "op_store.secret_key")
        check_optional("op_store.old_secret_keys", self.old_secret_keys, (list,), "a list of keys")
        for index, key in enumerate(self.old_secret_keys or ()):
            check_key(key, f"op_store.old_secret_keys[{index}]")

    @property
    def is_configured(self) -> bool:
        """whether any op store setting was given (a pipelines server only uses a configured store)"""
        return any(
            value is not None
            for value in (self.server_host, self.server_port, self.saver_type, self.saver_kwargs,
                          self.op_store_db_url)
        )

    def get_client(self, auth_token: Optional[str] = None) -> "OpStoreClient":
        """Returns an op store client calling the configured server over HTTP.

        :param auth_token: the server's bearer token, when it requires one
        """
        self.check()
        from chariots.op_store import OpStoreClient

        keys = {"secret_key": self.secret_key, "old_secret_keys": self.old_secret_keys}
        if auth_token is not None:  # an empty token is refused by the client, never taken for none
            return OpStoreClient(self.url, auth_token=auth_token, **keys)
        return OpStoreClient(self.url, **keys)

    def get_saver(self) -> "BaseSaver":
        """Returns the configured saver.

        :raises ConfigError: if neither ``saver_type`` nor ``saver_kwargs`` is configured
        """
        self.check()
        if self.saver_kwargs is None:
            raise ConfigError(
                "op_store.saver_type and op_store.saver_kwargs are needed to build the op store "
                f"server's saver (saver types: {quoted(SAVER_TYPES.names)})"
            )
        return SAVER_TYPES.get(self.saver_type).import_class()(**dict(self.saver_kwargs))

    def get_server(self) -> "OpStoreServer":
        """Returns the op store server with the configured saver and database.

        :raises ConfigError: if the saver is not configured
        """
        saver = self.get_saver()
        from chariots.op_store import OpStoreServer

        if self.op_store_db_url is None:
            return OpStoreServer(saver)
        return OpStoreServer(saver, db_url=self.op_store_db_url)

    def __repr__(self) -> str:
        return (
            f"OpStoreConfig(server_host={self.server_host!r}, server_port={self.server_port!r}, "
            f"saver_type={self.saver_type!r}, saver_kwargs={masked_settings(self.saver_kwargs)!r}, "
            f"op_store_db_url={masked_url(self.op_store_db_url)!r}"
            f"{', secret_key=' + repr(MASK) if self.secret_key is not None else ''})"
        )


class PipelinesConfig(_ServerAddress):
    """Configuration of the pipelines: which are served, how they run and where.

    :param runner: the runner, as an instance or a name: ``'sequential-runner'`` (the default),
                   ``'thread-runner'`` or ``'dask-runner'`` (``'dask'`` works too)
    :param server_host: the host the server listens on and clients call (``127.0.0.1`` by
                        default): a bare host name or IP address, without scheme or port
    :param server_port: the port of the server (5000 by default)
    :param pipelines: the pipelines to serve (set in Python, not in a config file)
    :param pipeline_callbacks: callbacks added to every pipeline (set in Python, not in a config file)
    :param import_name: the ``import_name`` of the :class:`~chariots.pipelines.PipelinesServer`
    :param runner_kwargs: the keyword arguments of a runner given by name (``max_workers`` for the
                          thread runner; ``address`` of the scheduler, and ``connect_timeout``, for
                          the Dask runner)
    :raises ConfigError: naming the ``pipelines.<key>`` that is wrong
    """

    default_port = DEFAULT_PIPELINES_PORT

    _section: ClassVar[str] = "pipelines"
    #: the arguments a config file may not give, and where to set them instead
    _python_only_keys: ClassVar[Mapping[str, str]] = {
        "pipelines": "set them in Python (config.pipelines_config.pipelines.append(pipeline)) "
        "or with `chariots pipelines --pipelines my_module:pipelines`",
        "pipeline_callbacks": "set them in Python (config.pipelines_config.pipeline_callbacks)",
    }

    def __init__(
        self,
        runner: Union[str, BaseRunner, None] = None,
        server_host: Optional[str] = None,
        server_port: Union[str, int, None] = None,
        pipelines: Optional[List[Pipeline]] = None,
        pipeline_callbacks: Optional[List[PipelineCallback]] = None,
        import_name: Optional[str] = None,
        runner_kwargs: Optional[Dict[str, Any]] = None,
    ):
        self.runner = runner if isinstance(runner, BaseRunner) else RUNNER_TYPES.canonical(runner)
        self.runner_kwargs = runner_kwargs
        self.server_host = server_host
        self.server_port = _normalised_port(server_port)
        self.pipelines = _as_list(pipelines)
        self.pipeline_callbacks = _as_list(pipeline_callbacks)
        self.import_name = import_name
        self.check()

    def check(self) -> None:
        """Checks every setting, changing none (called at creation and again before building anything).

        :raises ConfigError: naming the key that is wrong, what was expected and the allowed values
        """
        if not isinstance(self.runner, BaseRunner):
            check_optional(
                "pipelines.runner", self.runner, (str,),
                f"a runner name ({quoted(RUNNER_TYPES.names)}) or a BaseRunner instance",
            )
            RUNNER_TYPES.check_name("pipelines.runner", self.runner)
        check_optional("pipelines.runner_kwargs", self.runner_kwargs, (Mapping,), "a mapping")
        if isinstance(self.runner, BaseRunner):
            if self.runner_kwargs is not None:
                raise ConfigError("pipelines.runner_kwargs is for a runner given by name, not a BaseRunner instance")
        else:
            RUNNER_TYPES.get(self.runner).check_arguments("pipelines.runner_kwargs", self.runner_kwargs or {})
        check_host("pipelines.server_host", self.server_host)
        check_port("pipelines.server_port", self.server_port)
        check_type("pipelines.pipelines", self.pipelines, (list,), "a list of Pipelines")
        for index, pipeline in enumerate(self.pipelines):
            check_type(f"pipelines.pipelines[{index}]", pipeline, (Pipeline,), "a chariots Pipeline")
        names = [pipeline.name for pipeline in self.pipelines]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError(f"pipelines.pipelines has several pipelines named {quoted(duplicates)}")
        check_type("pipelines.pipeline_callbacks", self.pipeline_callbacks, (list,), "a list of PipelineCallbacks")
        for index, callback in enumerate(self.pipeline_callbacks):
            check_type(f"pipelines.pipeline_callbacks[{index}]", callback, (PipelineCallback,), "a PipelineCallback")
        check_optional("pipelines.import_name", self.import_name, (str,), "a string")

    def get_client(self) -> "PipelinesClient":
        """Returns a pipelines client calling the configured server."""
        self.check()
        from chariots.serving import PipelinesClient

        return PipelinesClient(self.url)

    def get_runner(self) -> BaseRunner:
        """Returns the configured runner (a new one when it is configured by name)."""
        self.check()
        if isinstance(self.runner, BaseRunner):
            return self.runner
        return RUNNER_TYPES.get(self.runner).import_class()(**dict(self.runner_kwargs or {}))

    def __repr__(self) -> str:
        return (
            f"PipelinesConfig(runner={self.runner!r}, "
            f"{'runner_kwargs=' + repr(masked_settings(self.runner_kwargs)) + ', ' if self.runner_kwargs else ''}"
            f"server_host={self.server_host!r}, "
            f"server_port={self.server_port!r}, pipelines=[{len(self.pipelines)} pipelines], "
            f"pipeline_callbacks=[{len(self.pipeline_callbacks)} callbacks], "
            f"import_name={self.import_name!r})"
        )


class WorkersConfig:
    """Configuration of the worker pool running pipeline calls asynchronously.

    :param use_for_all: whether every pipeline call goes to a worker (otherwise pipelines and
                        requests can still ask for one)
    :param worker_type: the kind of worker pool: ``'rq'`` (or its class name, ``'RQWorkerPool'``)
    :param worker_pool_kwargs: the keyword arguments of the worker pool (for ``'rq'``:
                               ``redis_kwargs``, ``queue_kwargs``, ``redis``); a password or
                               token among them is hidden in reprs
    :raises ConfigError: naming the ``pipelines_workers.<key>`` that is wrong
    """

    _section: ClassVar[str] = "pipelines_workers"

    def __init__(
        self,
        use_for_all: bool = False,
        worker_type: Optional[str] = None,
        worker_pool_kwargs: Optional[Dict[str, Any]] = None,
    ):
        self.use_for_all = use_for_all
        self.worker_type = WORKER_TYPES.canonical(worker_type)
        self.worker_pool_kwargs = worker_pool_kwargs
        self.check()

    def check(self) -> None:
        """Checks every setting, changing none (called at creation and again before building anything).

        :raises ConfigError: naming the key that is wrong, what was expected and the allowed values
        """
        check_type("pipelines_workers.use_for_all", self.use_for_all, (bool,), "true or false")
        WORKER_TYPES.check_name("pipelines_workers.worker_type", self.worker_type)
        check_optional("pipelines_workers.worker_pool_kwargs", self.worker_pool_kwargs, (Mapping,), "a mapping")
        if self.worker_type is None:
            if self.use_for_all or self.worker_pool_kwargs is not None:
                given = "use_for_all" if self.use_for_all else "worker_pool_kwargs"
                raise ConfigError(
                    f"pipelines_workers.worker_type is required when pipelines_workers.{given} is set "
                    f"(allowed: {quoted(WORKER_TYPES.names)})"
                )
            return
        WORKER_TYPES.get(self.worker_type).check_arguments(
            "pipelines_workers.worker_pool_kwargs", self.worker_pool_kwargs or {}
        )

    @property
    def is_configured(self) -> bool:
        """whether a worker type is set (a pipelines server only gets a pool when it is)"""
        return self.worker_type is not None

    def get_worker_pool(self) -> "BaseWorkerPool":
        """Returns a worker pool as configured.

        :raises ConfigError: if no ``worker_type`` is configured
        :raises MissingExtraError: if the worker type's optional dependencies are not installed
        """
        self.check()
        if self.worker_type is None:
            raise ConfigError(
                f"pipelines_workers.worker_type is not set: set it to one of {quoted(WORKER_TYPES.names)} "
                "to get a worker pool"
            )
        return WORKER_TYPES.get(self.worker_type).import_class()(**dict(self.worker_pool_kwargs or {}))

    def __repr__(self) -> str:
        return (
            f"WorkersConfig(use_for_all={self.use_for_all!r}, worker_type={self.worker_type!r}, "
            f"worker_pool_kwargs={masked_settings(self.worker_pool_kwargs)!r})"
        )


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, tuple):
        return list(value)
    return value  # anything else is reported by check()
