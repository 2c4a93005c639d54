"""Config fixtures: the reference docs' YAML example, and a writer of config files."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

#: the YAML example of the reference docs' chariots.config page, verbatim
DOCS_YAML = """\
op_store:
  op_store_db_url: 'sqlite:///memory:'
  saver_kwargs:
    root_path: /tmp/op_store_test
  saver_type: file-saver
  server_host: localhost
  server_port: 5000
pipelines:
  import_name: test_chariots_pipelines_server
  runner: sequential-runner
  server_host: localhost
  server_port: 80
pipelines_workers:
  use_for_all: true
  worker_pool_kwargs:
    redis_kwargs:
      host: localhost
      port: 8080
  worker_type: rq
"""


def runnable_docs_yaml(tmp_path: Path, op_store_port: int, pipelines_port: int,
                       redis_url: str | None = None) -> str:
    """The docs' YAML with only what a test machine needs changed: 127.0.0.1 and free ports,
    files under ``tmp_path``, the test Redis; without Redis, no workers section."""
    text = (
        DOCS_YAML.replace("sqlite:///memory:", f"sqlite:///{tmp_path / 'op_store.db'}")
        .replace("/tmp/op_store_test", str(tmp_path / "ops"))
        .replace("server_host: localhost", "server_host: 127.0.0.1")
        .replace("server_port: 5000", f"server_port: {op_store_port}")
        .replace("server_port: 80", f"server_port: {pipelines_port}")
    )
    if redis_url is None:
        return text[: text.index("pipelines_workers:")]
    redis = urlparse(redis_url)
    database = int(redis.path.strip("/") or 0)
    return text.replace(
        "      host: localhost\n      port: 8080\n",
        f"      host: {redis.hostname}\n      port: {redis.port or 6379}\n      db: {database}\n",
    )


@pytest.fixture
def write_config(tmp_path):
    """Writes YAML text to a config file in tmp_path and returns its path."""
    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
