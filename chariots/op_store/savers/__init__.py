"""Savers: where the op store puts the bytes of saved ops (local files, Google Cloud Storage)."""

from __future__ import annotations

from chariots.op_store.savers._base_saver import BaseSaver
from chariots.op_store.savers._file_saver import FileSaver
from chariots.op_store.savers._gcs_saver import GoogleStorageSaver

__all__ = ["BaseSaver", "FileSaver", "GoogleStorageSaver"]
