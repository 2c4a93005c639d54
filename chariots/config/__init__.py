"""One configuration for the op store, the pipelines server and its workers, from a YAML file or objects."""
from chariots.config._chariots_config import ChariotsConfig
from chariots.config._sections import (
    DEFAULT_HOST,
    DEFAULT_OP_STORE_PORT,
    DEFAULT_PIPELINES_PORT,
    OpStoreConfig,
    PipelinesConfig,
    WorkersConfig,
)

__all__ = [
    "ChariotsConfig",
    "OpStoreConfig",
    "PipelinesConfig",
    "WorkersConfig",
    "DEFAULT_HOST",
    "DEFAULT_OP_STORE_PORT",
    "DEFAULT_PIPELINES_PORT",
]
