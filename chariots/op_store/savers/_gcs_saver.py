"""A saver writing to a Google Cloud Storage bucket (needs ``pip install chariots[gcs]``)."""

from __future__ import annotations

import threading
from typing import Any, BinaryIO, Mapping, Optional

from chariots.errors import MissingExtraError
from chariots.op_store.savers._base_saver import BaseSaver

_CONTENT_TYPE = "application/octet-stream"
_READ_CHUNK_SIZE = 8 * 1024 * 1024
_UPLOAD_CHUNK_SIZE = 8 * 1024 * 1024  # a multiple of 256 KiB, as the resumable upload API requires


class GoogleStorageSaver(BaseSaver):
    """Saver persisting ops to the Google Cloud Storage service.

    google-cloud-storage is imported, and the client built, on first use. An object only
    becomes visible once its upload completed, so a crash mid-upload never leaves a truncated
    model behind.

    >>> saver = GoogleStorageSaver("chariots/ops", "my-bucket")  # doctest: +SKIP

    :param root_path: the prefix under which objects are written inside the bucket
    :param bucket_name: the name of an existing bucket
    :param client_kwargs: keyword arguments for ``google.cloud.storage.Client`` (project,
                          credentials, ``client_options={"api_endpoint": ...}``, ...)
    """

    def __init__(self, root_path: str, bucket_name: str, client_kwargs: Optional[Mapping] = None):
        super().__init__(root_path)
        self.bucket_name = bucket_name
        self.client_kwargs = dict(client_kwargs or {})
        self._bucket = None
        self._lock = threading.Lock()

    def __reduce__(self):
        return type(self), (self.root_path, self.bucket_name, self.client_kwargs)

    @property
    def bucket(self) -> Any:
        """the ``google.cloud.storage.Bucket`` objects are written to (built on first use)

        :raises MissingExtraError: if google-cloud-storage is not installed
        """
        if self._bucket is None:
            with self._lock:
                if self._bucket is None:
                    try:
                        from google.cloud import storage
                    except ImportError as exc:
                        raise MissingExtraError("google-cloud-storage", "gcs") from exc
                    client = storage.Client(**self.client_kwargs)
                    self._bucket = client.bucket(self.bucket_name)
        return self._bucket

    def _blob_name(self, path: str) -> str:
        parts = self.relative_parts(path)
        root = self.root_path.strip("/")
        return "/".join([root, *parts]) if root else "/".join(parts)

    def save(self, serialized_object: bytes, path: str) -> bool:
        """Uploads bytes to ``root_path/path`` in the bucket.

        :param serialized_object: the bytes to persist
        :param path: where to save them, relative to the saver's root
        :raises InvalidNameError: if the path could escape the root
        :returns: True once the object is stored
        """
        blob = self.bucket.blob(self._blob_name(path))
        blob.upload_from_string(bytes(serialized_object), content_type=_CONTENT_TYPE)
        return True

    def save_stream(self, stream: BinaryIO, path: str, size: Optional[int] = None) -> bool:
        """Uploads everything read from a binary stream to ``root_path/path`` in the bucket.

        :param stream: a readable binary file-like object
        :param path: where to save the bytes, relative to the saver's root
        :param size: the number of bytes the stream yields, when known
        :returns: True once the object is stored
        """
        # resumable upload in chunks, so a large model is never held whole in memory
        blob = self.bucket.blob(self._blob_name(path), chunk_size=_UPLOAD_CHUNK_SIZE)
        blob.upload_from_file(stream, size=size, content_type=_CONTENT_TYPE)
        return True

    def load(self, path: str) -> bytes:
        """Downloads the bytes of ``root_path/path`` from the bucket.

        :param path: where the bytes were saved, relative to the saver's root
        :raises FileNotFoundError: if the object does not exist
        :returns: the saved bytes
        """
        from google.api_core.exceptions import NotFound

        name = self._blob_name(path)
        try:
            return self.bucket.blob(name).download_as_bytes()
        except NotFound as exc:
            raise FileNotFoundError(f"no object {name!r} in bucket {self.bucket_name!r}") from exc

    def open_stream(self, path: str) -> BinaryIO:
        """Opens the object at ``root_path/path`` for reading in chunks (ranged downloads).

        :param path: where the bytes were saved, relative to the saver's root
        :raises FileNotFoundError: if the object does not exist
        :returns: a readable binary file-like object; the caller closes it
        """
        name = self._blob_name(path)
        blob = self.bucket.get_blob(name)
        if blob is None:
            raise FileNotFoundError(f"no object {name!r} in bucket {self.bucket_name!r}")
        return blob.open("rb", chunk_size=_READ_CHUNK_SIZE)

    def exists(self, path: str) -> bool:
        """Whether an object exists at ``root_path/path`` in the bucket."""
        return self.bucket.blob(self._blob_name(path)).exists()
