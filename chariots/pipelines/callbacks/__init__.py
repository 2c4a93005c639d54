"""Hooks around op and pipeline execution (logging, timing, monitoring)."""
from chariots.pipelines.callbacks._op_callback import OpCallBack
from chariots.pipelines.callbacks._pipeline_callback import PipelineCallback

__all__ = ["OpCallBack", "PipelineCallback"]
