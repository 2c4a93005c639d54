"""Savers: paths that could escape the root are refused, FileSaver writes atomically, GCS for real."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from chariots.errors import InvalidNameError
from chariots.op_store.savers import BaseSaver, FileSaver, GoogleStorageSaver

BAD_PATHS = ["", "/", "..", "../outside", "a/../../outside", "a/./b", "a//b", "a/b/", "a\x00b", "a\\b", None]


def all_files(directory) -> set:
    return {
        os.path.relpath(os.path.join(root, name), directory) for root, _, names in os.walk(directory) for name in names
    }


class _BrokenStream(io.RawIOBase):
    """Yields some bytes, then fails as a dropped connection would."""

    def __init__(self):
        self.calls = 0

    def readable(self):
        return True

    def read(self, size=-1):
        self.calls += 1
        if self.calls > 2:
            raise ConnectionResetError("the client went away")
        return b"partial" * 100


def test_file_saver_round_trips_and_reads_a_leading_slash_as_relative(tmp_path):
    saver = FileSaver(str(tmp_path / "root"))

    assert saver.save(b"bytes", "/foo/bar.txt") is True

    assert (tmp_path / "root" / "foo" / "bar.txt").read_bytes() == b"bytes"
    assert saver.load("foo/bar.txt") == b"bytes"
    assert saver.exists("/foo/bar.txt") and not saver.exists("foo/other")
    with saver.open_stream("foo/bar.txt") as stream:
        assert stream.read() == b"bytes"


def test_loading_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        FileSaver(str(tmp_path)).load("missing")


@pytest.mark.parametrize("path", BAD_PATHS)
def test_paths_that_could_escape_the_root_are_refused(tmp_path, path):
    saver = FileSaver(str(tmp_path / "root" / "inner"))

    for action in (lambda: saver.save(b"x", path), lambda: saver.load(path), lambda: saver.exists(path)):
        with pytest.raises(InvalidNameError, match=r"^saver path .* is invalid: "):
            action()

    assert all_files(tmp_path) == set()


def test_a_symlink_out_of_the_root_is_refused(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "root" / "link")
    saver = FileSaver(str(tmp_path / "root"))

    with pytest.raises(InvalidNameError, match="^saver path 'link/x' resolves outside the saver root"):
        saver.save(b"x", "link/x")

    assert all_files(tmp_path / "outside") == set()


def test_a_failed_write_keeps_the_previous_bytes_and_leaves_no_temporary_file(tmp_path):
    saver = FileSaver(str(tmp_path))
    saver.save(b"previous", "model")

    with pytest.raises(ConnectionResetError):
        saver.save_stream(_BrokenStream(), "model")

    assert saver.load("model") == b"previous"
    assert all_files(tmp_path) == {"model"}


def test_a_stream_shorter_than_announced_is_refused(tmp_path):
    saver = FileSaver(str(tmp_path))
    saver.save(b"previous", "model")

    with pytest.raises(
        ValueError, match="^saving 'model': expected 100 bytes but received 3; the upload was cut short"
    ):
        saver.save_stream(io.BytesIO(b"new"), "model", size=100)

    assert saver.load("model") == b"previous"
    assert all_files(tmp_path) == {"model"}


def test_save_stream_copies_in_chunks(tmp_path):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    saver = FileSaver(str(tmp_path))

    saver.save_stream(io.BytesIO(payload), "a/b/model", size=len(payload))

    assert saver.load("a/b/model") == payload


def test_a_custom_saver_needs_only_save_and_load():
    class DictSaver(BaseSaver):
        def __init__(self):
            super().__init__("/")
            self.files = {}

        def save(self, serialized_object, path):
            self.files["/".join(self.relative_parts(path))] = serialized_object
            return True

        def load(self, path):
            try:
                return self.files["/".join(self.relative_parts(path))]
            except KeyError:
                raise FileNotFoundError(path) from None

    saver = DictSaver()
    saver.save_stream(io.BytesIO(b"streamed"), "/a/b", size=8)
    assert saver.open_stream("a/b").read() == b"streamed"
    assert saver.exists("a/b") and not saver.exists("a/c")
    assert repr(saver) == "DictSaver('/')"


@pytest.mark.gcs
def test_google_storage_saver_against_the_emulator(gcs_bucket):
    bucket_name, client_kwargs = gcs_bucket
    saver = GoogleStorageSaver("root/path", bucket_name, client_kwargs)
    payload = os.urandom(9 * 1024 * 1024)

    assert saver.save(b"small", "/foo/bar.txt") is True
    assert saver.save_stream(io.BytesIO(payload), "big", size=len(payload)) is True

    assert saver.load("foo/bar.txt") == b"small"
    with saver.open_stream("big") as stream:
        assert stream.read() == payload
    with pytest.raises(FileNotFoundError, match="^no object 'root/path/missing'"):
        saver.open_stream("missing")
    assert saver.bucket.get_blob("root/path/foo/bar.txt") is not None
    assert saver.exists("big") and not saver.exists("missing")
    with pytest.raises(FileNotFoundError, match=f"^no object 'root/path/missing' in bucket '{bucket_name}'"):
        saver.load("missing")
    with pytest.raises(InvalidNameError):
        saver.save(b"x", "../escape")


def test_google_storage_saver_without_the_extra_names_the_pip_line():
    code = (
        "import sys; sys.modules['google.cloud.storage'] = None\n"  # as if the package were not installed
        "from chariots.op_store.savers import GoogleStorageSaver\n"
        "saver = GoogleStorageSaver('root', 'bucket')\n"
        "try:\n"
        "    saver.load('x')\n"
        "except Exception as error:\n"
        "    print(type(error).__name__, error)\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == (
        "MissingExtraError google-cloud-storage is required for this feature: run `pip install chariots[gcs]`"
    )


def test_importing_chariots_and_its_savers_stays_light():
    code = (
        "import sys, chariots, chariots.op_store.savers; "
        "print([m for m in ('google.cloud.storage', 'flask', 'sqlalchemy') if m in sys.modules])"
    )
    light = subprocess.run(
        [sys.executable, "-c", "import sys, chariots; print('flask' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    savers = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert light.stdout.strip() == "False"
    assert "google.cloud.storage" not in savers.stdout
