"""The saver, runner and worker types a config names by string, looked up by normalised name."""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

from chariots.config._checks import check_keys, check_type, did_you_mean, quoted, type_name
from chariots.errors import ConfigError

__all__ = ["Argument", "Plugin", "PluginRegistry", "normalise_name", "SAVER_TYPES", "RUNNER_TYPES", "WORKER_TYPES"]


def normalise_name(name: str) -> str:
    """The form names are compared in: lower case, ``-`` for ``_`` (``File_Saver`` -> ``file-saver``)."""
    return name.strip().lower().replace("_", "-")


@dataclass(frozen=True)
class Argument:
    """One keyword argument of a plugin class, as a config file may give it."""

    types: Tuple[type, ...]
    expected: str
    required: bool = False


@dataclass(frozen=True)
class Plugin:
    """A class a config names by a string, imported on first use.

    :param name: the canonical name (``'file-saver'``), the one messages list
    :param target: ``'module:ClassName'``; the class name is accepted as a name too
    :param arguments: the keyword arguments a config may give the class
    """

    name: str
    target: str
    arguments: Dict[str, Argument] = field(default_factory=dict)
    #: other names a config may use (``'dask'`` for ``'dask-runner'``)
    aliases: Tuple[str, ...] = ()

    @property
    def class_name(self) -> str:
        """the name of the class, read from the target without importing it"""
        return self.target.partition(":")[2]

    def import_class(self) -> type:
        """Imports the class (and so its optional dependencies, checked by the class itself)."""
        module_name, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module_name), attribute)

    def check_arguments(self, path: str, kwargs: Mapping[str, Any]) -> None:
        """Checks the keyword arguments a config gives the class.

        :raises ConfigError: naming the unknown, missing or mistyped ``path.<argument>``
        """
        check_keys(path, kwargs, self.arguments, context=f" for {self.name!r}")
        for name, argument in self.arguments.items():
            if kwargs.get(name) is not None:
                check_type(f"{path}.{name}", kwargs[name], argument.types, argument.expected)
            elif argument.required:
                raise ConfigError(f"{path}.{name} is required by {self.name!r} ({argument.expected})")

    @property
    def required_arguments(self) -> Tuple[str, ...]:
        """the names of the arguments a config must give"""
        return tuple(name for name, argument in self.arguments.items() if argument.required)


class PluginRegistry:
    """The plugins of one kind, found by canonical name or class name, whatever the case or separator.

    ``'FileSaver'``, ``'file_saver'`` and ``'File-Saver'`` all find the ``'file-saver'`` plugin.

    :param plugins: the plugins, the first being the default
    """

    def __init__(self, *plugins: Plugin):
        self.default = plugins[0]
        self.names = tuple(plugin.name for plugin in plugins)
        self._by_name: Dict[str, Plugin] = {}
        for plugin in plugins:
            for alias in (plugin.name, plugin.class_name, *plugin.aliases):
                self._by_name[normalise_name(alias)] = plugin

    def find(self, name: Any) -> Optional[Plugin]:
        """The plugin ``name`` designates, or ``None`` (also for a name that is not a string)."""
        return self._by_name.get(normalise_name(name)) if isinstance(name, str) else None

    def canonical(self, name: Any) -> Any:
        """The canonical name of the plugin ``name`` designates; ``name`` itself if none does."""
        plugin = self.find(name)
        return plugin.name if plugin is not None else name

    def get(self, name: Optional[str]) -> Plugin:
        """The plugin ``name`` designates (the default one for ``None``), for a checked name."""
        plugin = self.default if name is None else self.find(name)
        if plugin is None:
            raise ConfigError(f"unknown plugin {name!r}: one of {quoted(self.names)} was expected")
        return plugin

    def check_name(self, path: str, value: Any) -> None:
        """Checks an optional plugin name.

        :raises ConfigError: naming ``path``, the canonical names and the closest one
        """
        if value is None or self.find(value) is not None:
            return
        given = repr(value) if isinstance(value, str) else f"{value!r} ({type_name(value)})"
        close = did_you_mean(normalise_name(value) if isinstance(value, str) else value, self.names)
        raise ConfigError(f"{path} must be one of {quoted(self.names)}, got {given}{close}")


_MAPPING = Argument((Mapping,), "a mapping")

#: how the op store persists op bytes (``op_store.saver_type``)
SAVER_TYPES = PluginRegistry(
    Plugin(
        "file-saver", "chariots.op_store.savers:FileSaver",
        {"root_path": Argument((str, os.PathLike), "a path", required=True)},
    ),
    Plugin(
        "google-storage-saver", "chariots.op_store.savers:GoogleStorageSaver",
        {
            "root_path": Argument((str,), "a string", required=True),
            "bucket_name": Argument((str,), "a string", required=True),
            "client_kwargs": _MAPPING,
        },
    ),
    Plugin(
        "s3-saver", "chariots.op_store.savers:S3Saver",
        {
            "bucket": Argument((str,), "a bucket name", required=True),
            "prefix": Argument((str,), "a string"),
            "endpoint_url": Argument((str,), "a URL"),
            "storage_options": _MAPPING,
        },
        aliases=("s3",),
    ),
    Plugin(
        "fsspec-saver", "chariots.op_store.savers:FsspecSaver",
        {"url": Argument((str,), "a URL such as 's3://bucket/prefix'", required=True), "storage_options": _MAPPING},
        aliases=("fsspec",),
    ),
)
#: how pipelines run (``pipelines.runner``, with ``pipelines.runner_kwargs``)
RUNNER_TYPES = PluginRegistry(
    Plugin("sequential-runner", "chariots.pipelines.runners:SequentialRunner", aliases=("sequential",)),
    Plugin(
        "thread-runner", "chariots.pipelines.runners:ThreadRunner",
        {"max_workers": Argument((int,), "a number of threads")}, aliases=("threads", "thread"),
    ),
    Plugin(
        "dask-runner", "chariots.pipelines.runners:DaskRunner",
        {
            "address": Argument((str,), "a scheduler address such as 'tcp://127.0.0.1:8786'", required=True),
            "connect_timeout": Argument((int, float), "a number of seconds"),
        },
        aliases=("dask",),
    ),
)
#: the worker pools running calls asynchronously (``pipelines_workers.worker_type``)
WORKER_TYPES = PluginRegistry(
    Plugin(
        "rq", "chariots.workers:RQWorkerPool",
        {"redis_kwargs": _MAPPING, "queue_kwargs": _MAPPING, "redis": Argument((object,), "a Redis connection")},
    ),
)
