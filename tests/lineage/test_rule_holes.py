"""The classes of holes a fresh attack found in the lineage check (issue 18), one test each at least,
on SQLite and PostgreSQL. Each failed on the code before DESIGN 5's whole rule; the generative test
(test_lineage_property.py) tries the shapes and sequences these do not name.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from chariots import Pipeline
from chariots.errors import VersionError
from chariots.nodes import Node
from chariots.ops import BaseOp, LoadableOp
from chariots.pipelines.runners import SequentialRunner
from chariots.serving import PipelinesService
from chariots.versioning import VersionedField, VersionType
from tests.lineage import other_ops
from tests.lineage.lineage_ops import (
    FIT,
    FIT_PREDICT,
    IN,
    OUT,
    PREDICT,
    ROWS,
    Data,
    Features,
    LinearOp,
    PCAOp,
    Round,
    Scale,
)

runner = SequentialRunner()


class Triple(BaseOp):
    """Another stateless op, of another class than Scale."""

    def execute(self, x):
        return np.asarray(x, dtype=float) * 3.0


class Shift(LoadableOp):
    """A plain loadable op: its state (a shift) is learnt when it runs, saved, loaded."""

    def __init__(self, amount: float = 1.0):
        super().__init__()
        self.amount = amount

    def execute(self, x):
        return np.asarray(x, dtype=float) + self.amount

    def serialize(self) -> bytes:
        return repr(self.amount).encode()

    def load(self, serialized_object: bytes) -> None:
        self.amount = float(serialized_object.decode())


def train_pca_scale_linear(scale: BaseOp = None) -> Pipeline:
    return Pipeline([
        Node(Data(), output_nodes=["x", "y"]),
        Node(PCAOp(FIT_PREDICT), input_nodes=["x"], output_nodes="x_pca"),
        Node(scale or Scale(), input_nodes=["x_pca"], output_nodes="x_scaled"),
        Node(LinearOp(FIT), input_nodes=["x_scaled", "y"]),
    ], "train")


def serve(*middle: BaseOp, pca: bool = True) -> Pipeline:
    nodes, source = [], IN
    if pca:
        nodes.append(Node(PCAOp(PREDICT), input_nodes=[IN], output_nodes="x_pca"))
        source = "x_pca"
    for index, op in enumerate(middle):
        nodes.append(Node(op, input_nodes=[source], output_nodes=f"m{index}"))
        source = f"m{index}"
    nodes.append(Node(LinearOp(PREDICT), input_nodes=[source], output_nodes=OUT))
    return Pipeline(nodes, "pred")


def trained(store, pipeline: Pipeline = None) -> Pipeline:
    pipeline = pipeline or train_pca_scale_linear()
    runner.run(pipeline)
    pipeline.save(store)
    return pipeline


# ---------------------------------------------------------------------------- 1. stateless ops between models


def test_a_model_trained_behind_a_scale_is_served_only_behind_that_scale(store):
    trained(store)
    exact = serve(Scale()).load(store)  # the graph it was trained behind: served
    assert np.asarray(runner.run(exact, ROWS)).shape == (3,)

    class Scale3(Scale):  # the same class path, another major: a new release of Scale
        factor = VersionedField(3.0, VersionType.MAJOR)

    Scale3.__qualname__, Scale3.__module__ = Scale.__qualname__, Scale.__module__
    refusals = {
        "no scale": serve(),
        "a scale of another factor under a new name": serve(Scale3(name="scale_by_3")),
        "another stateless op in its place": serve(Triple()),
        "an op added between": serve(Scale(), Round()),
    }
    for what, pipeline in refusals.items():
        with pytest.raises(VersionError) as error:
            pipeline.load(store)
        assert "of op 'linearop'" in str(error.value), what
        assert "trained behind" in str(error.value), what


# ---------------------------------------------------------------------------- 2. a stateful ancestor missing


def test_a_model_trained_behind_a_pca_is_refused_on_raw_input_or_behind_another_op(store):
    trained(store, Pipeline([
        Node(Data(), output_nodes=["x", "y"]),
        Node(PCAOp(FIT_PREDICT), input_nodes=["x"], output_nodes="x_pca"),
        Node(LinearOp(FIT), input_nodes=["x_pca", "y"]),
    ], "train"))
    for pipeline in (serve(pca=False), serve(Triple(), pca=False)):
        with pytest.raises(VersionError) as error:
            pipeline.load(store)
        assert "was trained behind stateful op 'pcaop'" in str(error.value)
        assert "which the serving pipeline lacks" in str(error.value)


# ---------------------------------------------------------------------------- 3. identity by name


def test_two_stateless_classes_sharing_a_name_are_two_nodes(store):
    # tests.lineage.lineage_ops.Scale and tests.lineage.other_ops.Scale: one name, two classes
    def build(mode, other_scale):
        head = [Node(Data(), output_nodes=["x", "y"])] if mode is not PREDICT else []
        source = "x" if mode is not PREDICT else IN
        body = [
            Node(PCAOp(mode if mode is not FIT else FIT_PREDICT), input_nodes=[source], output_nodes="p"),
            Node(Scale(), input_nodes=["p"], output_nodes="s1"),
            Node(other_scale, input_nodes=["s1"], output_nodes="s2"),
        ]
        tail = Node(LinearOp(mode), input_nodes=["s2", "y"] if mode is not PREDICT else ["s2"],
                    output_nodes=None if mode is not PREDICT else OUT)
        return Pipeline(head + body + [tail], "train" if mode is not PREDICT else "pred")

    trained(store, build(FIT, other_ops.Scale()))
    build(PREDICT, other_ops.Scale()).load(store)
    with pytest.raises(VersionError) as error:  # a MAJOR change of the second one only
        build(PREDICT, other_ops.scale_class(5.0)()).load(store)
    assert "tests.lineage.other_ops.Scale" in str(error.value)


# ---------------------------------------------------------------------------- 4. plain LoadableOp state


def test_retraining_a_plain_loadable_op_refuses_the_model_behind_it(store):
    trained(store, Pipeline([
        Node(Data(), output_nodes=["x", "y"]),
        Node(Shift(1.0), input_nodes=["x"], output_nodes="x_s"),
        Node(LinearOp(FIT), input_nodes=["x_s", "y"]),
    ], "train"))

    def pred(shift: Shift) -> Pipeline:
        return Pipeline([Node(shift, input_nodes=[IN], output_nodes="x_s"),
                         Node(LinearOp(PREDICT), input_nodes=["x_s"], output_nodes=OUT)], "pred")

    pred(Shift(1.0)).load(store)
    retrained = Pipeline([Node(Features(), output_nodes="x"),
                          Node(Shift(5.0), input_nodes=["x"], output_nodes="__pipeline_output__")], "retrain")
    runner.run(retrained)
    retrained.save(store)  # the shift alone, retrained: a new major (its training_update_version)
    with pytest.raises(VersionError) as error:
        pred(Shift(1.0)).load(store)
    assert "upstream op 'shift'" in str(error.value)


def test_a_plain_loadable_op_may_declare_its_state_changes_harmless():
    class Counter(Shift):
        training_update_version = VersionType.PATCH

    one, two = Counter(1.0), Counter(2.0)
    assert one.version_for_state(one.serialize()).major == two.version_for_state(two.serialize()).major
    assert one.version_for_state(one.serialize()).patch != two.version_for_state(two.serialize()).patch
    assert Shift(1.0).version_for_state(b"1.0").major != Shift(2.0).version_for_state(b"2.0").major


# ---------------------------------------------------------------------------- 5. data in major fields


def _field_major(value) -> str:
    class Holder(BaseOp):
        data = VersionedField(value, VersionType.MAJOR)

    return Holder.__version__.major


def test_a_data_frame_or_a_fitted_transformer_in_a_major_field_has_its_content_hashed():
    frame = pd.DataFrame({"a": np.arange(2000), "b": np.arange(2000) * 0.5})
    changed = frame.copy()
    changed.iloc[1234, 1] = -1.0
    assert _field_major(frame) == _field_major(frame.copy())
    assert _field_major(frame) != _field_major(changed)
    first = StandardScaler().fit(np.arange(12.0).reshape(6, 2))
    refitted = StandardScaler().fit(np.arange(12.0).reshape(6, 2) * 3)
    assert str(first) == str(refitted)  # what the hash used to read
    assert _field_major(first) != _field_major(refitted)
    series = pd.Series(np.arange(500))
    assert _field_major(series) != _field_major(series.where(series != 250, -1))


# ---------------------------------------------------------------------------- 6. versions from clocks


def test_two_trainings_at_the_same_clock_never_share_a_version(store, monkeypatch):
    import chariots.ml._base_ml_op as ml_op

    monkeypatch.setattr(ml_op.time, "time", lambda: 1_700_000_000.0)  # two hosts, one slow clock
    first, second = train_pca_scale_linear(), train_pca_scale_linear()
    runner.run(first)
    runner.run(second)
    versions = [{node.name: node.node_version for node in pipeline.pipeline_nodes if node.is_loadable}
                for pipeline in (first, second)]
    assert versions[0]["pcaop"] != versions[1]["pcaop"]
    first.save(store)
    second.save(store)  # its upload is not dropped: it is another version
    assert len(store.get_all_versions_of_op("pcaop")) == 2


def test_the_newest_state_is_the_last_committed_whatever_the_clocks(store, monkeypatch):
    import chariots.ml._base_ml_op as ml_op

    monkeypatch.setattr(ml_op.time, "time", lambda: 2_000_000_000.0)  # a host whose clock is ahead
    ahead = trained(store)
    monkeypatch.setattr(ml_op.time, "time", lambda: 1_000_000_000.0)  # then one whose clock is behind
    behind = trained(store)
    loaded = serve(Scale()).load(store)
    served = {node.name: node.node_version for node in loaded.pipeline_nodes if node.is_loadable}
    newest = {node.name: node.node_version for node in behind.pipeline_nodes if node.is_loadable}
    assert served == {name: newest[name] for name in served}
    assert served["linearop"] != {node.name: node.node_version for node in ahead.pipeline_nodes}["linearop"]


# ---------------------------------------------------------------------------- 7. generations applied unchecked


def _service(store, *pipelines) -> PipelinesService:
    service = PipelinesService(list(pipelines), op_store_client=store)
    service.start()
    service.generations.stop()  # generations are applied by hand below
    return service


def test_a_generation_of_another_release_or_naming_a_subset_is_refused_and_reported(store):
    trained(store)
    new_release = _service(store, serve(Scale()))
    assert new_release.load_pipeline("pred") == 1

    class RenamedLinear(LinearOp):
        pass

    old_release = Pipeline([
        Node(PCAOp(PREDICT), input_nodes=[IN], output_nodes="x_pca"),
        Node(Scale(), input_nodes=["x_pca"], output_nodes="x_scaled"),
        Node(LinearOp(PREDICT, name="linear_v1"), input_nodes=["x_scaled"], output_nodes=OUT),
    ], "pred")
    follower = _service(store, old_release)
    assert follower.generations.apply_latest("pred") is None
    reason = follower.readiness()["reasons"]
    assert any("does not name exactly the stateful ops this process serves" in text for text in reason), reason
    assert follower.pipeline_health("pred")["generation"] == 0

    store.record_generation("pred", {"pcaop": store.get_all_versions_of_op("pcaop")[-1]})  # a subset
    subset = _service(store, serve(Scale()))
    assert subset.generations.apply_latest("pred") is None
    assert "it does not name 'linearop'" in subset.pipeline_health("pred")["lagging"]


# ---------------------------------------------------------------------------- 8. workers and the served generation


def test_a_job_runs_the_versions_the_server_serves_not_the_newest_saved(store):
    from chariots.workers._rq_job import run_pipeline_job

    trained(store)
    service = _service(store, serve(Scale()))
    service.load_pipeline("pred")
    served = service.run_pipeline("pred", ROWS).value
    trained(store)  # saved, never loaded: the servers still serve the first models
    definition, versions = service.get_pipeline("pred").definition()
    answer = run_pipeline_job(definition, ROWS, store, runner, versions)
    assert answer["pipeline_output"] == pytest.approx(np.asarray(served).tolist())
    assert answer["versions"] == {name: str(version) for name, version in service.run_pipeline("pred", ROWS)
                                  .versions.items()}
