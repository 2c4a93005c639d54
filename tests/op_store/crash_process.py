"""Processes the crash-safety tests kill with SIGKILL.

``python -m tests.op_store.crash_process serve ROOT DB PORT`` serves an op store on a SQLite
file and a FileSaver; ``python -m tests.op_store.crash_process save PATH SIZE`` saves a small
model through an in-process TestOpStoreClient, prints ``saved``, then saves a SIZE-byte one.
"""

from __future__ import annotations

import sys


def serve(root: str, db_path: str, port: str) -> None:
    from werkzeug.serving import make_server

    from chariots.op_store import OpStoreServer
    from chariots.op_store.savers import FileSaver

    server = OpStoreServer(FileSaver(root), db_url=f"sqlite:///{db_path}")
    make_server("127.0.0.1", int(port), server.flask, threaded=True).serve_forever()


def save(path: str, size: str) -> None:
    from chariots.testing import TestOpStoreClient
    from tests.op_store.ops import big_model_pipeline

    client = TestOpStoreClient(path)
    big_model_pipeline(b"first model").save(client)
    print("saved", flush=True)
    big_model_pipeline(b"\x01" * int(size)).save(client)
    print("saved again", flush=True)


if __name__ == "__main__":
    {"serve": serve, "save": save}[sys.argv[1]](*sys.argv[2:])
