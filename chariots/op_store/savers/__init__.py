"""Savers: where the op store puts the bytes of saved ops (local files, Google Cloud Storage, S3,
any fsspec file system)."""

from __future__ import annotations

from chariots.op_store.savers._base_saver import BaseSaver
from chariots.op_store.savers._file_saver import FileSaver
from chariots.op_store.savers._fsspec_saver import FsspecSaver
from chariots.op_store.savers._gcs_saver import GoogleStorageSaver
from chariots.op_store.savers._s3_saver import S3Saver

__all__ = ["BaseSaver", "FileSaver", "FsspecSaver", "GoogleStorageSaver", "S3Saver"]
