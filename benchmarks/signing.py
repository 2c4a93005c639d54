"""What the trust boundary costs: loading signed model bytes vs unsigned ones, and skops vs dill.

1. A 100 MB model (an ML op whose model is a 100 MB numpy array, saved with dill, the worst case:
   its load is little more than two copies of the bytes): the time to load it with the signature
   check vs the same load without it, by the two ways a model is loaded,

   - from an op store server over HTTP (``chariots op-store`` under gunicorn, what every
     pipelines server of a fleet does): the signed state fetched by ``OpStoreClient`` and checked,
     vs the same GET of an unsigned copy, then ``op.load``;
   - from an embedded op store (files and SQLite): ``EmbeddedOpStoreClient`` vs the same read of an
     unsigned copy through its service, then ``op.load``;

   and the check alone, on bytes already in memory (``unsign_state_parts`` then ``op.load``, vs
   ``op.load``). Goal: at most 1.1x.
2. The MACs that could sign it, alone over the same 100 MB in memory: HMAC-SHA256 (one stream),
   keyed BLAKE2b, keyed BLAKE3 on one thread and as ``chariots._mac`` runs it (a few threads), and
   the earlier manifest of per-chunk AES-GMAC tags (still checked for states it signed).
3. The iris models (PCA and LogisticRegression): load time with ``SkopsSerializer`` vs
   ``DillSerializer``.

Rounds alternate between the two sides and the medians are compared. Run from the repository root:
``python -m benchmarks.signing [--rounds N]``; nothing is asserted.

A state's signature is keyed BLAKE3 of its bytes (``chariots/_mac.py``). Before, it was an
HMAC-SHA256 of a manifest of AES-GMAC tags (``chariots/_manifest.py``), and before that one
HMAC-SHA256 over the 100 MB, a single stream of ~50-74 ms on the 2-core development machine, as
long as a quarter to a half of the load.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, List
from urllib.parse import quote

import numpy as np
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

from chariots import MLMode
from chariots._signing import STATE_TAIL_BYTES, SigningKeys
from chariots.ml import BaseMLOp
from chariots.ml.serializers import DillSerializer, SkopsSerializer
from chariots.op_store import EmbeddedOpStoreClient, OpStoreClient

KEY = "benchmark-key-0123456789abcdef"
MODEL_BYTES = 100 * 1024 * 1024


class ArrayOp(BaseMLOp):
    """An ML op whose model is one big array."""

    def _init_model(self):
        return None

    def fit(self, array):
        self._model = array

    def predict(self, x):
        return self._model[: len(x)]


def _medians(first: Callable[[], object], second: Callable[[], object], rounds: int) -> List[float]:
    times: List[List[float]] = [[], []]
    for _ in range(rounds):
        for index, function in enumerate((first, second)):
            start = time.perf_counter()
            function()
            times[index].append(time.perf_counter() - start)
    return [statistics.median(side) for side in times]


def _report(where: str, with_check: float, without: float) -> None:
    print(f"100 MB model, {where:<22} signed {with_check * 1000:7.1f} ms  unsigned {without * 1000:7.1f} ms  "
          f"ratio {with_check / without:.2f}x")


def big_model(rounds: int) -> None:
    op = ArrayOp(MLMode.FIT)
    op.execute(np.random.default_rng(0).random(MODEL_BYTES // 8))
    raw, version = op.serialize(), op.op_version
    keys = SigningKeys(KEY)
    signed = keys.sign_state("arrayop", version, raw)
    data, tail = signed[:-STATE_TAIL_BYTES], signed[-STATE_TAIL_BYTES:]
    with tempfile.TemporaryDirectory(prefix="chariots-bench-") as folder:
        from tests.fleet.conftest import Fleet

        fleet = Fleet(Path(folder)).start_op_store()
        try:
            client = OpStoreClient(fleet.op_store_url, secret_key=KEY)
            client.save_op_bytes("arrayop", version, raw)  # signed
            route = f"/ops/unsignedop/versions/{quote(str(version), safe='')}"
            answer = client.request("PUT", route, data=raw)  # as stores kept bytes before signing
            assert answer.status < 300, answer

            def over_http_checked() -> None:
                ArrayOp(MLMode.PREDICT).load(client.get_op_bytes_for_version("arrayop", version))

            def over_http_unchecked() -> None:  # the same GET, one read of the body, no check
                ArrayOp(MLMode.PREDICT).load(client.request("GET", route).body)

            _report("op store over HTTP:", *_medians(over_http_checked, over_http_unchecked, rounds))
            client.close()
        finally:
            fleet.stop_all()

        store = EmbeddedOpStoreClient(folder, secret_key=KEY)
        store.save_op_bytes("arrayop", version, raw)  # signed
        store.service.save_op_bytes("unsignedop", version, raw)  # as stores kept bytes before signing

        def from_store_checked() -> None:
            ArrayOp(MLMode.PREDICT).load(store.get_op_bytes_for_version("arrayop", version))

        def from_store_unchecked() -> None:  # the same read and load, without signature nor check
            ArrayOp(MLMode.PREDICT).load(store.service.get_op_bytes_for_version("unsignedop", version))

        _report("embedded store:", *_medians(from_store_checked, from_store_unchecked, rounds))
        store.close()

    def checked() -> None:
        ArrayOp(MLMode.PREDICT).load(keys.unsign_state_parts("arrayop", version, data, tail))

    def unchecked() -> None:
        ArrayOp(MLMode.PREDICT).load(raw)

    _report("in memory (check only):", *_medians(checked, unchecked, rounds))


def macs(rounds: int) -> None:
    import hashlib
    import hmac
    import secrets

    from blake3 import blake3

    from chariots import _mac
    from chariots._manifest import manifest

    data = np.random.default_rng(1).bytes(MODEL_BYTES)
    key = secrets.token_bytes(32)
    alternatives = {
        "HMAC-SHA256": lambda: hmac.new(key, data, hashlib.sha256).digest(),
        "keyed BLAKE2b": lambda: hashlib.blake2b(data, key=key).digest(),
        "keyed BLAKE3, 1 thread": lambda: blake3(data, key=key).digest(),
        "keyed BLAKE3, chariots._mac": lambda: _mac.tag(key, data, b""),
        "AES-GMAC manifest (earlier)": lambda: manifest(key, secrets.token_bytes(8), data),
    }
    for name, function in alternatives.items():
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"MAC over 100 MB, {name:<29} {median * 1000:7.1f} ms  ({MODEL_BYTES / median / 1e9:5.2f} GB/s)")


def iris_models(rounds: int = 200) -> None:
    x, y = datasets.load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {"PCA": PCA(n_components=2).fit(x), "LogisticRegression": LogisticRegression(max_iter=500).fit(x, y)}
    for name, model in models.items():
        skops_bytes, dill_bytes = SkopsSerializer().serialize_object(model), DillSerializer().serialize_object(model)
        skops_time, dill_time = _medians(lambda blob=skops_bytes: SkopsSerializer().deserialize_object(blob),
                                         lambda blob=dill_bytes: DillSerializer().deserialize_object(blob), rounds)
        print(f"iris {name:<18} load: skops {skops_time * 1e6:8.0f} us ({len(skops_bytes):6d} B)  dill "
              f"{dill_time * 1e6:6.0f} us ({len(dill_bytes):5d} B)  ratio {skops_time / dill_time:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)  # fewer swing the HTTP row by +-5 %
    arguments = parser.parse_args()
    big_model(arguments.rounds)
    macs(max(5, arguments.rounds // 3))
    iris_models()
