"""One configuration for the op store, the pipelines server and its workers.

The static part usually lives in a YAML file; every key is optional::

    op_store:
      op_store_db_url: 'sqlite:///memory:'
      saver_kwargs:
        root_path: /tmp/op_store_test
      saver_type: file-saver          # or google-storage-saver
      server_host: localhost
      server_port: 5000
    pipelines:
      import_name: test_chariots_pipelines_server
      runner: sequential-runner
      server_host: localhost
      server_port: 80
    pipelines_workers:
      use_for_all: true
      worker_pool_kwargs:
        redis_kwargs:
          host: localhost
          port: 8080
      worker_type: rq

The pipelines themselves and the pipeline callbacks are Python objects: they are set in
Python (``config.pipelines_config.pipelines.append(pipeline)``) or, from the command line,
with ``chariots pipelines --pipelines my_project.pipelines:pipelines``.

Everything is checked when the configuration is built: an unknown key, a value of the wrong
type or an unknown saver, runner or worker type raises :class:`~chariots.errors.ConfigError`
naming the key (``op_store.saver_type``) and the allowed values.
"""
from __future__ import annotations

import difflib
import importlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from chariots.errors import ConfigError
from chariots.pipelines._pipeline import Pipeline
from chariots.pipelines.callbacks import PipelineCallback
from chariots.pipelines.runners import BaseRunner

if TYPE_CHECKING:
    from chariots.op_store import OpStoreClient, OpStoreServer
    from chariots.op_store.savers import BaseSaver
    from chariots.pipelines import PipelinesClient, PipelinesServer
    from chariots.workers import BaseWorkerPool

__all__ = ["ChariotsConfig", "OpStoreConfig", "PipelinesConfig", "WorkersConfig"]

#: the host servers listen on, and clients call, when none is configured
DEFAULT_HOST = "127.0.0.1"
#: the port of the op store when none is configured
DEFAULT_OP_STORE_PORT = 5001
#: the port of the pipelines server when none is configured (the client's default too)
DEFAULT_PIPELINES_PORT = 5000

_OP_STORE = "op_store"
_PIPELINES = "pipelines"
_WORKERS = "pipelines_workers"


# --------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class _Argument:
    """One keyword argument of a pluggable class, as a config file may give it."""

    types: Tuple[type, ...]
    expected: str
    required: bool = False


@dataclass(frozen=True)
class _Plugin:
    """A class a config names by a string (``file-saver``), and the arguments it takes."""

    target: str
    arguments: Dict[str, _Argument] = field(default_factory=dict)

    def load(self) -> type:
        module_name, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module_name), attribute)


_MAPPING = _Argument((Mapping,), "a mapping")

_SAVER_TYPES: Dict[str, _Plugin] = {
    "file-saver": _Plugin(
        "chariots.op_store.savers:FileSaver",
        {"root_path": _Argument((str, os.PathLike), "a path", required=True)},
    ),
    "google-storage-saver": _Plugin(
        "chariots.op_store.savers:GoogleStorageSaver",
        {
            "root_path": _Argument((str,), "a string", required=True),
            "bucket_name": _Argument((str,), "a string", required=True),
            "client_kwargs": _MAPPING,
        },
    ),
}
_RUNNER_TYPES: Dict[str, _Plugin] = {
    "sequential-runner": _Plugin("chariots.pipelines.runners:SequentialRunner"),
}
_WORKER_TYPES: Dict[str, _Plugin] = {
    "rq": _Plugin(
        "chariots.workers:RQWorkerPool",
        {
            "redis_kwargs": _MAPPING,
            "queue_kwargs": _MAPPING,
            "redis": _Argument((object,), "a Redis connection"),
        },
    ),
}


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _did_you_mean(name: Any, choices: Iterable[str]) -> str:
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _a(name: str) -> str:
    return f"an {name}" if name[0].lower() in "aeiou" else f"a {name}"


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_type(path: str, value: Any, types: Tuple[type, ...], expected: str) -> None:
    if value is None or isinstance(value, bool) and bool not in types or not isinstance(value, types):
        raise ConfigError(f"{path} must be {expected}, got {value!r} ({_type_name(value)})")


def _check_optional(path: str, value: Any, types: Tuple[type, ...], expected: str) -> None:
    if value is not None:
        _check_type(path, value, types, expected)


def _check_keys(
    path: str, mapping: Mapping, allowed: Iterable[str], what: str = "key", context: str = ""
) -> None:
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            full_path = f"{path}.{key}" if path else str(key)
            raise ConfigError(
                f"unknown {what} {full_path}{context} (allowed: {_quoted(allowed) or 'none'})"
                f"{_did_you_mean(key, allowed)}"
            )


def _check_port(path: str, value: Any) -> Optional[int]:
    if value is None:
        return None
    port = None
    if isinstance(value, int) and not isinstance(value, bool):
        port = value
    elif isinstance(value, str) and value.strip().isdigit():
        port = int(value)
    if port is None or not 1 <= port <= 65535:
        raise ConfigError(
            f"{path} must be a port number between 1 and 65535, got {value!r} ({_type_name(value)})"
        )
    return port


def _check_plugin_name(path: str, value: Any, plugins: Mapping[str, _Plugin]) -> None:
    if value is not None and (not isinstance(value, str) or value not in plugins):
        given = repr(value) if isinstance(value, str) else f"{value!r} ({_type_name(value)})"
        raise ConfigError(f"{path} must be one of {_quoted(plugins)}, got {given}{_did_you_mean(value, plugins)}")


def _check_plugin_arguments(path: str, kwargs: Mapping[str, Any], plugin: _Plugin, plugin_name: str) -> None:
    _check_keys(path, kwargs, plugin.arguments, context=f" for {plugin_name!r}")
    for name, argument in plugin.arguments.items():
        if kwargs.get(name) is not None:
            _check_type(f"{path}.{name}", kwargs[name], argument.types, argument.expected)
        elif argument.required:
            raise ConfigError(f"{path}.{name} is required by {plugin_name!r} ({argument.expected})")


def _url(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


# --------------------------------------------------------------------------- sections
class OpStoreConfig:
    """Configuration of the op store server, and of the clients that call it.

    :param server_host: the host the server listens on and clients call (``127.0.0.1`` by default)
    :param server_port: the port of the server (5001 by default)
    :param saver_type: how the server persists op bytes: ``'file-saver'`` or ``'google-storage-saver'``
    :param saver_kwargs: the keyword arguments of the saver (``root_path``, and for Google
                         Storage ``bucket_name`` and ``client_kwargs``)
    :param op_store_db_url: the SQLAlchemy URL of the op store database
    :raises ConfigError: naming the ``op_store.<key>`` that is wrong
    """

    def __init__(
        self,
        server_host: Optional[str] = None,
        server_port: Union[str, int, None] = None,
        saver_type: Optional[str] = None,
        saver_kwargs: Optional[Dict[str, Any]] = None,
        op_store_db_url: Optional[str] = None,
    ):
        self.server_host = server_host
        self.server_port = server_port
        self.saver_type = saver_type
        self.saver_kwargs = saver_kwargs
        self.op_store_db_url = op_store_db_url
        self.check()

    def check(self) -> None:
        """Checks every setting (called at creation and again before building anything).

        :raises ConfigError: naming the key that is wrong, what was expected and the allowed values
        """
        _check_optional(f"{_OP_STORE}.server_host", self.server_host, (str,), "a host name")
        self.server_port = _check_port(f"{_OP_STORE}.server_port", self.server_port)
        _check_plugin_name(f"{_OP_STORE}.saver_type", self.saver_type, _SAVER_TYPES)
        _check_optional(f"{_OP_STORE}.saver_kwargs", self.saver_kwargs, (Mapping,), "a mapping")
        if self.saver_kwargs is not None:
            saver_type = self.saver_type or "file-saver"
            _check_plugin_arguments(
                f"{_OP_STORE}.saver_kwargs", self.saver_kwargs, _SAVER_TYPES[saver_type], saver_type
            )
        elif self.saver_type is not None:
            required = [name for name, argument in _SAVER_TYPES[self.saver_type].arguments.items()
                        if argument.required]
            raise ConfigError(
                f"{_OP_STORE}.saver_kwargs is required by saver_type {self.saver_type!r} "
                f"(keys: {_quoted(required)})"
            )
        _check_optional(f"{_OP_STORE}.op_store_db_url", self.op_store_db_url, (str,), "a SQLAlchemy URL")
        if self.op_store_db_url is not None:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(self.op_store_db_url)
            except ArgumentError as error:
                raise ConfigError(
                    f"{_OP_STORE}.op_store_db_url is not a SQLAlchemy URL ({error}): "
                    "write it like 'sqlite:////tmp/op_store.db' or 'postgresql+psycopg://user@host/db'"
                ) from None

    @property
    def is_configured(self) -> bool:
        """whether any op store setting was given (a pipelines server only uses a configured store)"""
        return any(
            value is not None
            for value in (self.server_host, self.server_port, self.saver_type, self.saver_kwargs,
                          self.op_store_db_url)
        )

    @property
    def host(self) -> str:
        """the configured host, or the default one"""
        return self.server_host or DEFAULT_HOST

    @property
    def port(self) -> int:
        """the configured port, or the default one"""
        return int(self.server_port or DEFAULT_OP_STORE_PORT)

    @property
    def url(self) -> str:
        """the base URL clients call"""
        return _url(self.host, self.port)

    def get_client(self, auth_token: Optional[str] = None) -> "OpStoreClient":
        """Returns an op store client calling the configured server over HTTP.

        :param auth_token: the server's bearer token, when it requires one
        """
        self.check()
        from chariots.op_store import OpStoreClient

        if auth_token:
            return OpStoreClient(self.url, auth_token=auth_token)
        return OpStoreClient(self.url)

    def get_saver(self) -> "BaseSaver":
        """Returns the configured saver.

        :raises ConfigError: if neither ``saver_type`` nor ``saver_kwargs`` is configured
        """
        self.check()
        if self.saver_kwargs is None:
            raise ConfigError(
                f"{_OP_STORE}.saver_type and {_OP_STORE}.saver_kwargs are needed to build the op store "
                f"server's saver (saver types: {_quoted(_SAVER_TYPES)})"
            )
        saver_type = self.saver_type or "file-saver"
        return _SAVER_TYPES[saver_type].load()(**dict(self.saver_kwargs))

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
            f"saver_type={self.saver_type!r}, saver_kwargs={self.saver_kwargs!r}, "
            f"op_store_db_url={self.op_store_db_url!r})"
        )


class PipelinesConfig:
    """Configuration of the pipelines: which are served, how they run and where.

    :param runner: the runner, as an instance or a name (``'sequential-runner'``, the default)
    :param server_host: the host the server listens on and clients call (``127.0.0.1`` by default)
    :param server_port: the port of the server (5000 by default)
    :param pipelines: the pipelines to serve (set in Python, not in a config file)
    :param pipeline_callbacks: callbacks added to every pipeline (set in Python, not in a config file)
    :param import_name: the ``import_name`` of the :class:`~chariots.pipelines.PipelinesServer`
    :raises ConfigError: naming the ``pipelines.<key>`` that is wrong
    """

    def __init__(
        self,
        runner: Union[str, BaseRunner, None] = None,
        server_host: Optional[str] = None,
        server_port: Union[str, int, None] = None,
        pipelines: Optional[List[Pipeline]] = None,
        pipeline_callbacks: Optional[List[PipelineCallback]] = None,
        import_name: Optional[str] = None,
    ):
        self.runner = runner
        self.server_host = server_host
        self.server_port = server_port
        self.pipelines = _as_list(f"{_PIPELINES}.pipelines", pipelines)
        self.pipeline_callbacks = _as_list(f"{_PIPELINES}.pipeline_callbacks", pipeline_callbacks)
        self.import_name = import_name
        self.check()

    def check(self) -> None:
        """Checks every setting (called at creation and again before building anything).

        :raises ConfigError: naming the key that is wrong, what was expected and the allowed values
        """
        if not isinstance(self.runner, BaseRunner):
            _check_optional(
                f"{_PIPELINES}.runner", self.runner, (str,),
                f"a runner name ({_quoted(_RUNNER_TYPES)}) or a BaseRunner instance",
            )
            _check_plugin_name(f"{_PIPELINES}.runner", self.runner, _RUNNER_TYPES)
        _check_optional(f"{_PIPELINES}.server_host", self.server_host, (str,), "a host name")
        self.server_port = _check_port(f"{_PIPELINES}.server_port", self.server_port)
        _check_type(f"{_PIPELINES}.pipelines", self.pipelines, (list,), "a list of Pipelines")
        for index, pipeline in enumerate(self.pipelines):
            _check_type(f"{_PIPELINES}.pipelines[{index}]", pipeline, (Pipeline,), "a chariots Pipeline")
        names = [pipeline.name for pipeline in self.pipelines]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError(f"{_PIPELINES}.pipelines has several pipelines named {_quoted(duplicates)}")
        callbacks_path = f"{_PIPELINES}.pipeline_callbacks"
        _check_type(callbacks_path, self.pipeline_callbacks, (list,), "a list of PipelineCallbacks")
        for index, callback in enumerate(self.pipeline_callbacks):
            _check_type(f"{callbacks_path}[{index}]", callback, (PipelineCallback,), "a PipelineCallback")
        _check_optional(f"{_PIPELINES}.import_name", self.import_name, (str,), "a string")

    @property
    def host(self) -> str:
        """the configured host, or the default one"""
        return self.server_host or DEFAULT_HOST

    @property
    def port(self) -> int:
        """the configured port, or the default one"""
        return int(self.server_port or DEFAULT_PIPELINES_PORT)

    @property
    def url(self) -> str:
        """the base URL clients call"""
        return _url(self.host, self.port)

    def get_client(self) -> "PipelinesClient":
        """Returns a pipelines client calling the configured server."""
        self.check()
        from chariots.pipelines.pipelines_client import PipelinesClient

        return PipelinesClient(self.url)

    def get_runner(self) -> BaseRunner:
        """Returns the configured runner (a new one when it is configured by name)."""
        self.check()
        if isinstance(self.runner, BaseRunner):
            return self.runner
        return _RUNNER_TYPES[self.runner or "sequential-runner"].load()()

    def __repr__(self) -> str:
        return (
            f"PipelinesConfig(runner={self.runner!r}, server_host={self.server_host!r}, "
            f"server_port={self.server_port!r}, pipelines=[{len(self.pipelines)} pipelines], "
            f"pipeline_callbacks=[{len(self.pipeline_callbacks)} callbacks], "
            f"import_name={self.import_name!r})"
        )


class WorkersConfig:
    """Configuration of the worker pool running pipeline calls asynchronously.

    :param use_for_all: whether every pipeline call goes to a worker (otherwise pipelines and
                        requests can still ask for one)
    :param worker_type: the kind of worker pool: ``'rq'``
    :param worker_pool_kwargs: the keyword arguments of the worker pool (for ``'rq'``:
                               ``redis_kwargs``, ``queue_kwargs``, ``redis``)
    :raises ConfigError: naming the ``pipelines_workers.<key>`` that is wrong
    """

    def __init__(
        self,
        use_for_all: bool = False,
        worker_type: Optional[str] = None,
        worker_pool_kwargs: Optional[Dict[str, Any]] = None,
    ):
        self.use_for_all = use_for_all
        self.worker_type = worker_type
        self.worker_pool_kwargs = worker_pool_kwargs
        self.check()

    def check(self) -> None:
        """Checks every setting (called at creation and again before building anything).

        :raises ConfigError: naming the key that is wrong, what was expected and the allowed values
        """
        _check_type(f"{_WORKERS}.use_for_all", self.use_for_all, (bool,), "true or false")
        _check_plugin_name(f"{_WORKERS}.worker_type", self.worker_type, _WORKER_TYPES)
        _check_optional(f"{_WORKERS}.worker_pool_kwargs", self.worker_pool_kwargs, (Mapping,), "a mapping")
        if self.worker_type is None:
            if self.use_for_all or self.worker_pool_kwargs is not None:
                given = "use_for_all" if self.use_for_all else "worker_pool_kwargs"
                raise ConfigError(
                    f"{_WORKERS}.worker_type is required when {_WORKERS}.{given} is set "
                    f"(allowed: {_quoted(_WORKER_TYPES)})"
                )
            return
        _check_plugin_arguments(
            f"{_WORKERS}.worker_pool_kwargs", self.worker_pool_kwargs or {}, _WORKER_TYPES[self.worker_type],
            self.worker_type,
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
                f"{_WORKERS}.worker_type is not set: set it to one of {_quoted(_WORKER_TYPES)} "
                "to get a worker pool"
            )
        return _WORKER_TYPES[self.worker_type].load()(**dict(self.worker_pool_kwargs or {}))

    def __repr__(self) -> str:
        return (
            f"WorkersConfig(use_for_all={self.use_for_all!r}, worker_type={self.worker_type!r}, "
            f"worker_pool_kwargs={self.worker_pool_kwargs!r})"
        )


def _as_list(path: str, value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, tuple):
        return list(value)
    return value  # anything else is reported by check()


# --------------------------------------------------------------------------- the whole
_SECTIONS = {_OP_STORE: OpStoreConfig, _PIPELINES: PipelinesConfig, _WORKERS: WorkersConfig}
_PYTHON_ONLY = {
    f"{_PIPELINES}.pipelines": "set them in Python (config.pipelines_config.pipelines.append(pipeline)) "
    "or with `chariots pipelines --pipelines my_module:pipelines`",
    f"{_PIPELINES}.pipeline_callbacks": "set them in Python (config.pipelines_config.pipeline_callbacks)",
}
_FILE_KEYS = {
    _OP_STORE: ["server_host", "server_port", "saver_type", "saver_kwargs", "op_store_db_url"],
    _PIPELINES: ["runner", "server_host", "server_port", "import_name"],
    _WORKERS: ["use_for_all", "worker_type", "worker_pool_kwargs"],
}


_GIVE_A_FILE = "give the path of a YAML config file"


def _read_file(config_file: Union[str, os.PathLike]) -> Dict[str, Any]:
    import yaml

    path = os.fspath(config_file)
    try:
        with open(path, encoding="utf-8") as stream:
            content = yaml.safe_load(stream)
    except FileNotFoundError:
        raise ConfigError(f"config file {path!r} does not exist: {_GIVE_A_FILE}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path!r} is a directory: {_GIVE_A_FILE}") from None
    except yaml.YAMLError as error:
        where = ""
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"config file {path!r} is not valid YAML{where}: {problem}") from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(
            f"config file {path!r} must hold a mapping with the keys {_quoted(_SECTIONS)}, "
            f"got a {_type_name(content)}"
        )
    return content


class ChariotsConfig:
    """The whole configuration: op store, pipelines and workers, from a YAML file or objects.

    >>> config = ChariotsConfig(
    ...     pipelines_config=PipelinesConfig(server_port=8000),
    ...     op_store_config=OpStoreConfig(server_port=8001),
    ... )
    >>> config.get_pipelines_client().backend_url
    'http://127.0.0.1:8000'

    :param config_file: a YAML file with the sections ``op_store``, ``pipelines`` and
                        ``pipelines_workers``. A section given as an object below replaces the
                        file's section of the same name entirely
    :param pipelines_config: the pipelines' configuration
    :param pipelines_worker_config: the workers' configuration
    :param op_store_config: the op store's configuration
    :raises ConfigError: if the file is missing or invalid, naming the file and the key path
    """

    def __init__(
        self,
        config_file: Union[str, os.PathLike, None] = None,
        pipelines_config: Optional[PipelinesConfig] = None,
        pipelines_worker_config: Optional[WorkersConfig] = None,
        op_store_config: Optional[OpStoreConfig] = None,
    ):
        given = {_OP_STORE: op_store_config, _PIPELINES: pipelines_config, _WORKERS: pipelines_worker_config}
        argument_names = {
            _OP_STORE: "op_store_config", _PIPELINES: "pipelines_config", _WORKERS: "pipelines_worker_config",
        }
        for section, value in given.items():
            expected = _SECTIONS[section]
            if value is not None and not isinstance(value, expected):
                raise ConfigError(
                    f"{argument_names[section]} must be {_a(expected.__name__)}, "
                    f"got {value!r} ({_type_name(value)})"
                )
        self.config_file = os.fspath(config_file) if config_file is not None else None
        content = _read_file(config_file) if config_file is not None else {}
        try:
            _check_keys("", content, _SECTIONS, what="section")
            for section, section_class in _SECTIONS.items():
                if given[section] is None:
                    given[section] = section_class(**self._section_kwargs(section, content.get(section)))
        except ConfigError as error:
            if self.config_file is None:
                raise
            raise ConfigError(f"config file {self.config_file!r}: {error}") from None
        self.op_store_config: OpStoreConfig = given[_OP_STORE]
        self.pipelines_config: PipelinesConfig = given[_PIPELINES]
        self.pipelines_worker_config: WorkersConfig = given[_WORKERS]

    @staticmethod
    def _section_kwargs(section: str, value: Any) -> Dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{section} must be a mapping of settings, got {value!r} ({_type_name(value)})")
        for key in value:
            reason = _PYTHON_ONLY.get(f"{section}.{key}")
            if reason:
                raise ConfigError(f"{section}.{key} cannot be set in a config file: {reason}")
        _check_keys(section, value, _FILE_KEYS[section])
        return dict(value)

    def get_op_store_client(self, auth_token: Optional[str] = None) -> "OpStoreClient":
        """Returns a client of the configured op store server.

        :param auth_token: the op store's bearer token, when it requires one
        """
        return self.op_store_config.get_client(auth_token)

    def get_op_store_server(self) -> "OpStoreServer":
        """Returns the configured op store server (saver and database)."""
        return self.op_store_config.get_server()

    def get_pipelines_client(self) -> "PipelinesClient":
        """Returns a client of the configured pipelines server."""
        return self.pipelines_config.get_client()

    def get_pipelines_worker_pool(self) -> "BaseWorkerPool":
        """Returns the configured worker pool.

        :raises ConfigError: if no ``pipelines_workers.worker_type`` is configured
        """
        return self.pipelines_worker_config.get_worker_pool()

    def get_pipelines_server(
        self, op_store_auth_token: Optional[str] = None, **server_kwargs: Any
    ) -> "PipelinesServer":
        """Returns the pipelines server, wired to the op store, the runner and the worker pool.

        The server gets an op store client when the ``op_store`` section is configured, and a
        worker pool when ``pipelines_workers.worker_type`` is; with ``use_for_all`` every call
        goes to a worker.

        :param op_store_auth_token: the op store's bearer token, when it requires one
        :param server_kwargs: other arguments of :class:`~chariots.pipelines.PipelinesServer`
                              (``auth_token``, ``max_content_length`` ...)
        """
        pipelines = self.pipelines_config
        workers = self.pipelines_worker_config
        pipelines.check()
        workers.check()
        from chariots.pipelines.pipelines_server import PipelinesServer

        server_kwargs.setdefault("import_name", pipelines.import_name or "chariots_pipelines_server")
        return PipelinesServer(
            list(pipelines.pipelines),
            op_store_client=(
                self.get_op_store_client(op_store_auth_token) if self.op_store_config.is_configured else None
            ),
            runner=pipelines.get_runner(),
            default_pipeline_callbacks=list(pipelines.pipeline_callbacks) or None,
            worker_pool=workers.get_worker_pool() if workers.is_configured else None,
            use_workers=True if workers.use_for_all else None,
            **server_kwargs,
        )

    def __repr__(self) -> str:
        return (
            f"ChariotsConfig(config_file={self.config_file!r}, "
            f"pipelines_config={self.pipelines_config!r}, "
            f"pipelines_worker_config={self.pipelines_worker_config!r}, "
            f"op_store_config={self.op_store_config!r})"
        )
