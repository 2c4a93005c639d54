"""Save and load of a 20-op pipeline, before and after exact lineage (issue 10), as a ratio.

Also printed: training (untimed in the save) and train+save, and the load alone: what the serving
house (issue 24) is measured by (``--before 1e41368``, the commit before it).

The pipeline has 20 leaf ops: 14 stateless ones (one of them joining two branches) and 6 with a
state, 3 tiny scikit-learn models and 3 plain ``LoadableOp`` counters. Each cycle trains it
(untimed), saves it (timed), then loads a serving pipeline of the same shape from the store
(timed), whose models then predict. Both pipelines are registered first, as a pipelines server
does at start. Two stores: an op store served over HTTP by a server process
on a SQLite file, and the embedded store (SQLite and files in a folder, no HTTP).

*Before* is the code of the commit just before the lineage work (``--before``, default
``08b1967``), exported with ``git archive``; *after* is this checkout (or ``--after REF``,
exported the same way). Each side runs in its own worker process with ``PYTHONPATH`` pointing at
its code, and the two are driven in turns, one cycle each, so that drifts of the machine hit
both alike. The medians of save, load and save+load are printed with the after/before ratio.
Goal: save+load after <= 1.5x before.

Run with ``python benchmarks/lineage_save_load.py [--cycles 40] [--stores http,embedded]``;
nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: a key for the processes whose code signs states (older code ignores it)
BENCH_KEY = "lineage-benchmark-secret-key"


# ------------------------------------------------------------------ the pipelines (run in the workers)


def _ops():
    """The op classes, built once the worker's chariots is importable."""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from chariots.ml.sklearn import SKUnsupervisedOp
    from chariots.ops import BaseOp, LoadableOp
    from chariots.versioning import VersionedField, VersionType

    module = sys.modules[__name__]
    ops: Dict[str, type] = {}

    def define(name: str, base: type, fields: dict) -> type:
        cls = type(base)(name, (base,), {"__module__": __name__, "__qualname__": name, **fields})
        setattr(module, name, cls)  # importable by its class path
        ops[name] = cls
        return cls

    class Data(BaseOp):
        def execute(self):
            rows = np.arange(64 * 6, dtype=float).reshape(64, 6)
            return np.sin(rows) * 10 + rows / 7

    Data.__module__, Data.__qualname__ = __name__, "Data"
    module.Data = Data
    ops["Data"] = Data

    def affine(factor: float, shift: float):
        def execute(self, x):
            return np.asarray(x, dtype=float) * self.factor + shift

        return {"factor": VersionedField(factor, VersionType.MAJOR), "execute": execute}

    for index in range(12):
        define(f"Step{index}", BaseOp, affine(1.0 + index / 10, index / 3))

    def join(self, left, right):
        return (np.asarray(left, dtype=float) + np.asarray(right, dtype=float)) / 2

    define("Join", BaseOp, {"execute": join})
    define("ToList", BaseOp, {"execute": lambda self, x: np.round(np.asarray(x, dtype=float), 6).tolist()})

    def counter_fields():
        def __init__(self):
            LoadableOp.__init__(self)
            self.count = 0

        def execute(self, x):
            self.count += 1
            return x

        def serialize(self):
            return json.dumps({"count": self.count}).encode()

        def load(self, serialized_object):
            self.count = json.loads(serialized_object)["count"]

        # a count changes nothing of what flows downstream: its changes only touch the patch
        # (plain LoadableOps change their major by default since issue 18; older code ignores it)
        return {"__init__": __init__, "execute": execute, "serialize": serialize, "load": load,
                "training_update_version": VersionType.PATCH}

    for index in range(3):
        define(f"Counter{index}", LoadableOp, counter_fields())
    for name, model, parameters in (
        ("ScalerA", StandardScaler, {}),
        ("PcaB", PCA, {"n_components": 6}),
        ("MinMaxC", MinMaxScaler, {}),
    ):
        define(name, SKUnsupervisedOp, {
            "training_update_version": VersionType.MAJOR,
            "model_class": VersionedField(model, VersionType.MAJOR),
            "model_parameters": parameters,
        })
    return ops


def build(ops: Dict[str, type], training: bool):
    """The 20-leaf pipeline: the training one reads ``Data``, the serving one its input."""
    from chariots import MLMode, Pipeline
    from chariots.nodes import Node

    mode = MLMode.FIT_PREDICT if training else MLMode.PREDICT
    steps = [ops[f"Step{index}"] for index in range(12)]
    first = Node(ops["Data"](), output_nodes="x0") if training else Node(
        steps[11](), input_nodes=["__pipeline_input__"], output_nodes="x0")
    nodes = [
        first,
        Node(steps[0](), input_nodes=["x0"], output_nodes="x1"),
        Node(ops["ScalerA"](mode), input_nodes=["x1"], output_nodes="x2"),
        Node(steps[1](), input_nodes=["x2"], output_nodes="x3"),
        Node(ops["Counter0"](), input_nodes=["x3"], output_nodes="x4"),
        Node(steps[2](), input_nodes=["x4"], output_nodes="x5"),
        Node(ops["PcaB"](mode), input_nodes=["x5"], output_nodes="x6"),
        Node(steps[3](), input_nodes=["x6"], output_nodes="x7"),
        Node(steps[4](), input_nodes=["x3"], output_nodes="side"),  # a branch around the PCA
        Node(ops["Join"](), input_nodes=["x7", "side"], output_nodes="x8"),
        Node(ops["Counter1"](), input_nodes=["x8"], output_nodes="x9"),
        Node(steps[5](), input_nodes=["x9"], output_nodes="x10"),
        Node(ops["MinMaxC"](mode), input_nodes=["x10"], output_nodes="x11"),
        Node(steps[6](), input_nodes=["x11"], output_nodes="x12"),
        Node(ops["Counter2"](), input_nodes=["x12"], output_nodes="x13"),
        Node(steps[7](), input_nodes=["x13"], output_nodes="x14"),
        Node(steps[8](), input_nodes=["x14"], output_nodes="x15"),
        Node(steps[9](), input_nodes=["x15"], output_nodes="x16"),
        Node(steps[10](), input_nodes=["x16"], output_nodes="x17"),
        Node(ops["ToList"](), input_nodes=["x17"], output_nodes="__pipeline_output__"),
    ]
    return Pipeline(nodes, "train_20" if training else "serve_20")


def worker(store_kind: str, directory: str) -> None:
    """A worker: one cycle (train, timed save, timed load) per ``cycle`` line on stdin."""
    import logging

    import chariots
    from chariots.pipelines.runners import SequentialRunner

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = None
    if store_kind == "http":
        from op_store_io import free_port, wait_for_port  # a worker runs as a script of this folder

        from chariots.op_store import OpStoreClient

        port = free_port()
        server = subprocess.Popen(  # the op store server of op_store_io.py, on this side's code
            [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "op_store_io.py"), "--serve",
             os.path.join(directory, "saver"), os.path.join(directory, "op_store.db"), str(port)],
            env=os.environ.copy(),
        )
        wait_for_port(port, timeout=60.0)
        store = OpStoreClient(f"http://127.0.0.1:{port}")
    else:
        from chariots.op_store import EmbeddedOpStoreClient

        store = EmbeddedOpStoreClient(directory)
    ops = _ops()
    train, serve = build(ops, training=True), build(ops, training=False)
    for pipeline in (train, serve):  # what a pipelines server does at start with pipelines the store never saw
        pipeline.register(store)
    runner = SequentialRunner()
    rows = [[float(value) for value in range(6)]] * 4
    print(json.dumps({"ready": os.path.dirname(os.path.dirname(chariots.__file__))}), flush=True)
    try:
        for line in sys.stdin:
            if line.strip() != "cycle":
                break
            started = time.perf_counter()
            runner.run(train)
            start = time.perf_counter()
            train.save(store)
            saved = time.perf_counter()
            serve.load(store)
            loaded = time.perf_counter()
            trained, served = _state_versions(train), _state_versions(serve)
            if served != trained:
                raise RuntimeError(f"the serving pipeline loaded {served}, not what was trained and saved: {trained}")
            runner.run(serve, rows)  # the loaded models answer
            print(json.dumps({"train": start - started, "save": saved - start, "load": loaded - saved}), flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


def _state_versions(pipeline) -> Dict[str, object]:
    """The version of every op with a state, by name."""
    return {node.name: version for node, version in pipeline.get_pipeline_versions().items() if node.is_loadable}


# ------------------------------------------------------------------ the driver


def export(ref: str, directory: str) -> str:
    """The ``chariots`` package of commit ``ref``, extracted under ``directory``."""
    os.makedirs(directory, exist_ok=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", ref, "chariots"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)
    return directory


class Worker:
    def __init__(self, code_path: str, store_kind: str, directory: str):
        env = dict(os.environ, PYTHONPATH=code_path, CHARIOTS_SECRET_KEY=BENCH_KEY)
        env.pop("CHARIOTS_OLD_SECRET_KEYS", None)
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", store_kind, directory],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=directory,
        )
        ready = json.loads(self.process.stdout.readline())
        if os.path.realpath(ready["ready"]) != os.path.realpath(code_path):
            raise RuntimeError(f"the worker imported chariots from {ready['ready']}, not {code_path}")

    def cycle(self) -> Dict[str, float]:
        self.process.stdin.write("cycle\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("a worker died (its error is above)")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def measure(store_kind: str, code: Dict[str, str], cycles: int, warmup: int, directory: str) -> Dict[str, List]:
    workers = {}
    try:
        for side, code_path in code.items():
            store_dir = os.path.join(directory, f"{store_kind}-{side}")
            os.makedirs(store_dir)
            workers[side] = Worker(code_path, store_kind, store_dir)
        timings: Dict[str, List] = {side: [] for side in code}
        for index in range(warmup + cycles):
            order = list(code) if index % 2 == 0 else list(reversed(code))
            for side in order:
                timing = workers[side].cycle()
                if index >= warmup:
                    timings[side].append(timing)
        return timings
    finally:
        for worker_ in workers.values():
            worker_.close()


def report(store_kind: str, timings: Dict[str, List]) -> float:
    def median(side: str, what: str) -> float:
        values = [sum(t.get(part, 0.0) for part in what.split("+")) for t in timings[side]]
        return statistics.median(values)

    print(f"\n{store_kind} store, {len(timings['before'])} cycles each, interleaved (median ms)")
    print(f"  {'':10}{'before':>10}{'after':>10}{'ratio':>9}")
    for what in ("train", "save", "train+save", "load", "save+load"):
        before, after = median("before", what), median("after", what)
        print(f"  {what:10}{before * 1000:>10.1f}{after * 1000:>10.1f}{after / before:>8.2f}x")
    return median("after", "save+load") / median("before", "save+load")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--before", default="08b1967", help="the commit measured as before")
    parser.add_argument("--after", default=None, help="the commit measured as after (default: this checkout)")
    parser.add_argument("--stores", default="http,embedded")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chariots-lineage-bench-") as directory:
        code = {"before": export(arguments.before, os.path.join(directory, "before"))}
        code["after"] = export(arguments.after, os.path.join(directory, "after")) if arguments.after else ROOT
        print("20 leaf ops (14 stateless, 3 scikit-learn models, 3 plain LoadableOps); a cycle trains (untimed),")
        print("saves the training pipeline and loads the serving one (timed)")
        print(f"before: {arguments.before}; after: {arguments.after or 'this checkout (' + ROOT + ')'}")
        ratios = {}
        for store_kind in arguments.stores.split(","):
            timings = measure(store_kind, code, arguments.cycles, arguments.warmup, directory)
            ratios[store_kind] = report(store_kind, timings)
    print()
    for store_kind, ratio in ratios.items():
        print(f"{store_kind}: save+load after/before = {ratio:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
