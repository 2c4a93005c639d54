"""The docs' pipelines and the iris examples give the same outputs, versions and lineage records
with every runner."""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import pytest

from chariots import MLMode, Pipeline
from chariots.nodes import Node
from chariots.testing import TestOpStoreClient
from tests.pipelines.simple_ops import AddOneOp, IsOddOp, SplitOp, SumOp
from tests.runners.conftest import RUNNERS

pytest.importorskip("sklearn")

from tests.ml import iris_ops  # noqa: E402
from tests.runners.runner_ops import SeededIrisRF  # noqa: E402


class _Versions:
    """Names each version by its op and the order it first appeared in (the training time in a
    version differs from run to run; what it names must not)."""

    def __init__(self):
        self.seen: Dict[str, List[Any]] = {}

    def __call__(self, op_name: str, version) -> str:
        known = self.seen.setdefault(op_name, [])
        if version not in known:
            known.append(version)
        return f"{op_name}#{known.index(version)}"


def _docs_pipelines() -> List[tuple]:
    is_odd = Pipeline([
        Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="added"),
        Node(IsOddOp(), input_nodes=["added"], output_nodes="__pipeline_output__"),
    ], "is_odd")
    inner = Pipeline([Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                     "inner")
    nested = Pipeline([
        Node(SplitOp(), input_nodes=["__pipeline_input__"], output_nodes=["a", "b"]),
        Node(inner, input_nodes=["a"], output_nodes="c"),
        Node(SumOp(), input_nodes=["b", "c", "a"], output_nodes="__pipeline_output__"),
    ], "nested")
    return [(is_odd, 4), (is_odd, 5), (nested, 3)]


def _scenario(runner, store_path) -> Dict[str, Any]:
    """Everything a user can observe of the runs: outputs, versions, lineage records, stored states."""
    store = TestOpStoreClient(str(store_path))
    name = _Versions()
    seen: Dict[str, Any] = {"outputs": [], "versions": [], "lineage": []}

    def observe(pipeline: Pipeline, output: Any) -> None:
        seen["outputs"].append((pipeline.name, np.asarray(output).tolist() if output is not None else None))
        seen["versions"].append(sorted((node.name, name(node.name, node.node_version))
                                       for node in pipeline.pipeline_nodes))
        seen["lineage"].append(sorted(
            (node.name, sorted((up, name(up, version)) for up, version in (node.op.training_lineage or {}).items()))
            for node in pipeline.pipeline_nodes if node.is_loadable
        ))

    for pipeline, value in _docs_pipelines():
        observe(pipeline, runner.run(pipeline, value))

    iris_x = iris_ops.IrisXDataSet().execute()[::25]
    iris_df = iris_ops.DownloadIris().execute().drop("target", axis=1)[::25]
    train, pred = iris_ops.getting_started_pipelines()
    tutorial_train, tutorial_pred = _seeded_tutorial()
    for train_pipeline, pred_pipeline, rows in ((train, pred, iris_x), (tutorial_train, tutorial_pred, iris_df)):
        observe(train_pipeline, runner.run(train_pipeline))
        train_pipeline.save(store)
        pred_pipeline.load(store)
        observe(pred_pipeline, runner.run(pred_pipeline, rows))
        # a second training: new versions, and the predicting pipeline refuses nothing it loads
        observe(train_pipeline, runner.run(train_pipeline))
        train_pipeline.save(store)
        pred_pipeline.load(store)
        observe(pred_pipeline, runner.run(pred_pipeline, rows))
    seen["stored"] = {
        op: [(name(op, state.version), sorted((up, name(up, v)) for up, v in state.lineage.items()), state.saved_by)
             for state in store.get_op_states(op)]
        for op in ("pcaop", "logisticop", "irispca", "seedediris_rf")
    }
    store.close()
    return seen


def _seeded_tutorial():
    # the tutorial's pipelines, its random forest seeded: its predictions are then the same in every process
    train_iris = Pipeline([
        Node(iris_ops.DownloadIris(), output_nodes="iris_df"),
        Node(iris_ops.XYSplit(), input_nodes=["iris_df"], output_nodes=["raw_X", "y"]),
        Node(iris_ops.IrisPCA(MLMode.FIT_PREDICT), input_nodes=["raw_X"], output_nodes="pca_X"),
        Node(SeededIrisRF(MLMode.FIT), input_nodes=["pca_X", "y"]),
    ], "train_iris")
    pred_iris = Pipeline([
        Node(iris_ops.IrisPCA(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="x_pca"),
        Node(SeededIrisRF(MLMode.PREDICT), input_nodes=["x_pca"], output_nodes="pred"),
        Node(iris_ops.FromArray(), input_nodes=["pred"], output_nodes="__pipeline_output__"),
    ], "pred_iris")
    return train_iris, pred_iris


@pytest.fixture(scope="module")
def sequential_scenario(tmp_path_factory):
    from chariots.pipelines.runners import SequentialRunner

    return _scenario(SequentialRunner(), tmp_path_factory.mktemp("sequential"))


@pytest.mark.parametrize("runner_name", RUNNERS)
def test_every_runner_gives_the_sequential_outputs_versions_and_lineage(
    runner_name, make_runner, sequential_scenario, tmp_path
):
    seen = _scenario(make_runner(runner_name), tmp_path)
    assert seen["outputs"] == sequential_scenario["outputs"]
    assert seen["versions"] == sequential_scenario["versions"]
    assert seen["lineage"] == sequential_scenario["lineage"]
    assert seen["stored"] == sequential_scenario["stored"]
    # and the scenario shows something: trained states, lineage, several versions
    assert [len(states) for states in seen["stored"].values()] == [2, 2, 2, 2]
    assert ("pcaop", "pcaop#1") in seen["stored"]["logisticop"][1][1]
    assert seen["outputs"][4] == ("pred", [0, 0, 1, 1, 2, 2])  # the iris predictions, every class
    assert seen["outputs"][2] == ("nested", 3 + 6 + 4)
