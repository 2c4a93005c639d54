"""Runners execute pipelines."""
from chariots.pipelines.runners._base_runner import BaseRunner
from chariots.pipelines.runners._sequential_runner import SequentialRunner

__all__ = ["BaseRunner", "SequentialRunner"]
