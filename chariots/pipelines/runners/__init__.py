"""Runners execute pipelines: one node after the other, in threads, or on a Dask cluster."""
from chariots.pipelines.runners._base_runner import BaseRunner, Done, NodeExecutor
from chariots.pipelines.runners._dask_runner import DaskRunner
from chariots.pipelines.runners._sequential_runner import SequentialRunner
from chariots.pipelines.runners._thread_runner import ThreadRunner

__all__ = ["BaseRunner", "NodeExecutor", "Done", "SequentialRunner", "ThreadRunner", "DaskRunner"]
