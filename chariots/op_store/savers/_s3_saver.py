"""A saver writing to an S3 bucket, or any S3-compatible store (needs ``pip install chariots[s3]``)."""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from chariots.op_store.savers._fsspec_saver import FsspecSaver

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


class S3Saver(FsspecSaver):
    """A saver persisting ops to an Amazon S3 bucket, or to an S3-compatible store (MinIO, Ceph,
    Cloudflare R2...) given its ``endpoint_url``, through s3fs.

    Credentials come from the usual AWS sources, as boto does: the ``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY`` variables, ``~/.aws/credentials`` and its profiles, the instance or
    container role. They are never written in messages, logs or the saver's ``repr``. Uploads are
    multipart, 8 MiB at a time, and an object appears only once its upload completed, so a save
    cut short leaves the store as it was. Everything else is the :class:`FsspecSaver` contract.

    >>> S3Saver(bucket="my-models", prefix="chariots/prod")
    S3Saver('s3://my-models/chariots/prod')

    :param bucket: the name of an existing bucket
    :param prefix: the key prefix under which the ops are written (none by default)
    :param endpoint_url: the URL of an S3-compatible store (AWS's own endpoint when None)
    :param storage_options: more keyword arguments of ``s3fs.S3FileSystem`` (``profile``,
                            ``client_kwargs={"region_name": ...}``, ``retries``...)
    :raises ValueError: if the bucket name is not a valid S3 bucket name
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: Optional[str] = None,
        storage_options: Optional[Mapping[str, Any]] = None,
    ):
        if not isinstance(bucket, str) or not _BUCKET.match(bucket):
            raise ValueError(
                f"S3Saver needs a bucket name of 3 to 63 lowercase letters, digits, '.' and '-', got {bucket!r}"
            )
        if not isinstance(prefix, str):
            raise ValueError(f"S3Saver's prefix must be a string, got {prefix!r}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        options = dict(storage_options or {})
        if endpoint_url is not None:
            client_kwargs = dict(options.get("client_kwargs") or {})
            client_kwargs["endpoint_url"] = endpoint_url
            options["client_kwargs"] = client_kwargs
        self._s3_options = dict(storage_options or {})
        super().__init__(f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}", options)

    def __reduce__(self):
        return type(self), (self.bucket, self.prefix, self.endpoint_url, self._s3_options)

    def __repr__(self) -> str:
        where = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"S3Saver({self.url!r}{where})"
