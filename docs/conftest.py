"""Setup shared by the examples of the documentation.

Every ``.rst`` page is one doctest (``pytest --doctest-glob='*.rst' docs``). The autouse
fixture below fills the namespace the examples run in and skips a page whose optional
dependencies are missing:

- ``app_path``: an empty folder for a :class:`chariots.Chariots` app (its embedded op store);
- ``op_store_client``: a :class:`chariots.testing.TestOpStoreClient` on a temporary folder;
- ``runner``: a :class:`~chariots.pipelines.runners.SequentialRunner`;
- the ops of :mod:`chariots_doc_ops` (``AddOneOp``, ``IsOddOp``, ``IrisFullDataSet``,
  ``IrisXDataSet``, ``FromArray``, ``Categorize``);
- ``is_odd_pipeline``: a pipeline named ``is_odd`` telling whether its input is odd;
- with scikit-learn, the ``PCAOp`` and ``LogisticOp`` of the getting-started page.

The workers page needs Redis at 127.0.0.1:6379 (its database 1), the address its examples
use: without it the page is skipped, except under ``CI=true`` where it fails.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import stop_process_group

# Keras 3 runs on JAX in this project; choose it before anything imports keras
os.environ.setdefault("KERAS_BACKEND", "jax")

DOCS = Path(__file__).resolve().parent

# Sphinx's configuration and the helper modules hold no examples
collect_ignore = ["conf.py", "chariots_doc_ops.py", "chariots_doc_sk_ops.py", "_build"]

#: the optional packages each page needs (pages not listed need only chariots itself)
PAGE_REQUIREMENTS = {
    "getting_started.rst": ("sklearn",),
    "tutorials/iris.rst": ("sklearn", "pandas"),
    "api/pipelines.rst": ("sklearn",),
    "api/nodes.rst": ("sklearn",),
    "api/ml.rst": ("sklearn",),
    "api/serializers.rst": ("sklearn", "pandas"),
    "api/sklearn.rst": ("sklearn",),
    "api/keras.rst": ("keras", "sklearn"),
    "api/config.rst": ("redis", "rq"),
    "api/workers.rst": ("redis", "rq"),
    "how_to/workers.rst": ("redis", "rq"),
    "how_to/lineage.rst": ("sklearn",),
    "how_to/dask.rst": ("distributed", "sklearn"),
    "how_to/s3.rst": ("s3fs", "moto", "sklearn"),
}
#: pages whose examples run in their (empty) ``app_path`` folder
APP_PATH_AS_CWD = {"api/config.rst"}
#: pages that talk to a real Redis
REDIS_PAGES = {"how_to/workers.rst"}
REDIS_URL = "redis://127.0.0.1:6379/1"
#: pages that store models on a (test) S3 server on 127.0.0.1
S3_PAGES = {"how_to/s3.rst"}


def _unavailable(reason: str) -> None:
    """Skips the page, or fails it under CI where every service must be there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required service unavailable under CI: {reason}")
    pytest.skip(reason)


def _check_redis() -> None:
    from redis import Redis

    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except Exception as error:  # any connection failure means "no Redis here"
        _unavailable(f"the workers page needs Redis at {REDIS_URL}: {type(error).__name__}: {error}")
    finally:
        connection.close()


@pytest.fixture
def _worker_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """Lets worker processes import the helper ops, and stops any worker a page left running."""
    from chariots.workers import RQWorkerPool

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(DOCS), os.environ.get("PYTHONPATH")])))
    processes: list[subprocess.Popen] = []
    spawn = RQWorkerPool.spawn_worker

    def spawn_and_track(self, *args, **kwargs):
        process = spawn(self, *args, **kwargs)
        processes.append(process)
        return process

    monkeypatch.setattr(RQWorkerPool, "spawn_worker", spawn_and_track)
    yield processes
    for process in processes:
        stop_process_group(process, timeout=10)


@pytest.fixture
def _s3_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """A test S3 server (moto's) on 127.0.0.1 with the page's bucket, credentials in the usual variables."""
    from tests.conftest import S3Server

    server = S3Server().start()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3Server.CREDENTIALS["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3Server.CREDENTIALS["secret"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3

    s3 = boto3.client("s3", endpoint_url=server.endpoint_url)
    if "my-models" not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="my-models")
    yield {"s3_endpoint_url": server.endpoint_url}
    server.stop()


@pytest.fixture(autouse=True)
def _page_namespace(
    request: pytest.FixtureRequest, doctest_namespace: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    page = Path(str(request.node.path)).resolve().relative_to(DOCS).as_posix()
    for module in PAGE_REQUIREMENTS.get(page, ()):
        pytest.importorskip(module, reason=f"{page} needs {module}")
    if page in REDIS_PAGES:
        _check_redis()
        request.getfixturevalue("_worker_processes")

    import chariots_doc_ops

    from chariots.pipelines import Pipeline
    from chariots.pipelines.nodes import Node
    from chariots.pipelines.runners import SequentialRunner
    from chariots.testing import TestOpStoreClient

    namespace = {name: getattr(chariots_doc_ops, name) for name in chariots_doc_ops.__all__}
    namespace["is_odd_pipeline"] = Pipeline(
        [Node(chariots_doc_ops.IsOddOp(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
        "is_odd",
    )
    if "sklearn" in PAGE_REQUIREMENTS.get(page, ()):
        import chariots_doc_sk_ops

        namespace.update({name: getattr(chariots_doc_sk_ops, name) for name in chariots_doc_sk_ops.__all__})

    if page in S3_PAGES:
        namespace.update(request.getfixturevalue("_s3_page"))
    op_store_client = TestOpStoreClient(str(tmp_path / "op_store"))
    app_path = tmp_path / "app"
    app_path.mkdir()
    namespace.update(
        store_path=str(tmp_path / "store"),
        app_path=str(app_path),
        op_store_client=op_store_client,
        runner=SequentialRunner(),
    )
    # the namespace is shared by the whole session: the page sees only its own names (not those
    # other conftests added for other doctests), and the namespace is given back afterwards
    previous = dict(doctest_namespace)
    doctest_namespace.clear()
    doctest_namespace.update(namespace)
    if page in APP_PATH_AS_CWD:
        monkeypatch.chdir(app_path)
    yield
    doctest_namespace.clear()
    doctest_namespace.update(previous)
    op_store_client.close()
