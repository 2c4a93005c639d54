"""The whole configuration: the three sections, from a YAML file or objects."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Optional, Union

from chariots.config._checks import check_keys, type_name, with_article
from chariots.config._file import read_file, section_kwargs
from chariots.config._sections import OpStoreConfig, PipelinesConfig, WorkersConfig
from chariots.errors import ConfigError

if TYPE_CHECKING:
    from chariots.op_store import OpStoreClient, OpStoreServer
    from chariots.serving import PipelinesClient, PipelinesServer
    from chariots.workers import BaseWorkerPool

__all__ = ["ChariotsConfig"]

#: the section classes, by their name in a file and the argument of ChariotsConfig that replaces them
_SECTIONS: Dict[str, tuple] = {
    "op_store": (OpStoreConfig, "op_store_config"),
    "pipelines": (PipelinesConfig, "pipelines_config"),
    "pipelines_workers": (WorkersConfig, "pipelines_worker_config"),
}


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
        arguments = {
            "op_store_config": op_store_config, "pipelines_config": pipelines_config,
            "pipelines_worker_config": pipelines_worker_config,
        }
        for section_class, argument in _SECTIONS.values():
            value = arguments[argument]
            if value is not None and not isinstance(value, section_class):
                raise ConfigError(
                    f"{argument} must be {with_article(section_class.__name__)}, got {value!r} ({type_name(value)})"
                )
        self.config_file = os.fspath(config_file) if config_file is not None else None
        content = read_file(config_file, list(_SECTIONS)) if config_file is not None else {}
        try:
            check_keys("", content, _SECTIONS, what="section")
            for section, (section_class, argument) in _SECTIONS.items():
                if arguments[argument] is None:
                    arguments[argument] = section_class(**section_kwargs(section_class, content.get(section)))
        except ConfigError as error:
            if self.config_file is None:
                raise
            raise ConfigError(f"config file {self.config_file!r}: {error}") from None
        self.op_store_config: OpStoreConfig = arguments["op_store_config"]
        self.pipelines_config: PipelinesConfig = arguments["pipelines_config"]
        self.pipelines_worker_config: WorkersConfig = arguments["pipelines_worker_config"]

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

        Its jobs are signed with the ``op_store`` section's ``secret_key`` (and checked with its
        ``old_secret_keys`` too) when it sets one: one key in one file serves the servers and the
        workers.

        :raises ConfigError: if no ``pipelines_workers.worker_type`` is configured
        """
        workers = self.pipelines_worker_config
        keys = self.job_keys()
        if keys["secret_key"] is not None and workers.worker_type is not None:
            import inspect

            from chariots.config._plugins import WORKER_TYPES

            workers.check()
            pool_class = WORKER_TYPES.get(workers.worker_type).import_class()
            if "secret_key" in inspect.signature(pool_class).parameters:
                return pool_class(**dict(workers.worker_pool_kwargs or {}), **keys)
        return workers.get_worker_pool()

    def job_keys(self) -> Dict[str, Any]:
        """The ``secret_key`` and ``old_secret_keys`` worker jobs are signed with: the ``op_store``
        section's (None: the environment's ``CHARIOTS_SECRET_KEY``, else the user's key file)."""
        store = self.op_store_config
        return {"secret_key": store.secret_key, "old_secret_keys": store.old_secret_keys}

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
        from chariots.serving import PipelinesServer

        server_kwargs.setdefault("import_name", pipelines.import_name or "chariots_pipelines_server")
        return PipelinesServer(
            list(pipelines.pipelines),
            op_store_client=(
                self.get_op_store_client(op_store_auth_token) if self.op_store_config.is_configured else None
            ),
            runner=pipelines.get_runner(),
            default_pipeline_callbacks=list(pipelines.pipeline_callbacks) or None,
            worker_pool=self.get_pipelines_worker_pool() if workers.is_configured else None,
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
