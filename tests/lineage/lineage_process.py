"""Second processes of the lineage tests: another server training on the same store, a saver the
tests kill, an op store server the tests kill.

- ``python -m tests.lineage.lineage_process train STORE PIPELINE``: a pipelines server on the
  store STORE (a directory: an embedded SQLite store; an ``http://`` URL: an op store server)
  runs PIPELINE, saves it, and prints ``{op name: version}`` of the pipeline as JSON.
- ``python -m tests.lineage.lineage_process save-big URL PADDING``: trains
  :func:`~tests.lineage.light_ops.train_big`, prints ``trained {versions}``, saves it to the op
  store at URL, then prints ``saved``.
- ``python -m tests.lineage.lineage_process serve SAVER_ROOT DB_URL PORT``: serves an op store.
"""

from __future__ import annotations

import json
import sys


def open_store(address: str):
    """An op store client: over HTTP for a URL, else in process on the files under the directory."""
    if address.startswith("http://"):
        from chariots.op_store import OpStoreClient

        return OpStoreClient(address)
    from chariots.testing import TestOpStoreClient

    return TestOpStoreClient(address)


def train(address: str, pipeline_name: str) -> None:
    from chariots.pipelines import PipelinesServer
    from chariots.testing import TestPipelinesClient
    from tests.lineage.lineage_ops import build

    pipeline = build(pipeline_name)[0]
    app = PipelinesServer([pipeline], op_store_client=open_store(address))
    client = TestPipelinesClient(app)
    client.load_pipeline(pipeline_name)
    client.call_pipeline(pipeline_name)
    client.save_pipeline(pipeline_name)
    versions = client.pipeline_versions(pipeline_name)
    print(json.dumps({name: str(version) for name, version in versions.items()}), flush=True)


def save_big(url: str, padding: str) -> None:
    from chariots.pipelines.runners import SequentialRunner
    from tests.lineage.light_ops import train_big

    pipeline = train_big(int(padding))
    SequentialRunner().run(pipeline)
    versions = {node.name: str(version) for node, version in pipeline.get_pipeline_versions().items()}
    print("trained " + json.dumps(versions), flush=True)
    pipeline.save(open_store(url))
    print("saved", flush=True)


def serve(saver_root: str, db_url: str, port: str) -> None:
    from werkzeug.serving import make_server

    from chariots.op_store import OpStoreServer
    from chariots.op_store.savers import FileSaver

    server = OpStoreServer(FileSaver(saver_root), db_url=db_url)
    make_server("127.0.0.1", int(port), server.flask, threaded=True).serve_forever()


if __name__ == "__main__":
    {"train": train, "save-big": save_big, "serve": serve}[sys.argv[1]](*sys.argv[2:])
