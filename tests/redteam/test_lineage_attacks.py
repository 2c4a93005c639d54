"""Red-team attacks on the lineage promise (DESIGN section 5), through the public API only.

Each test asserts what the promise requires, so that it fails while the hole is open. The
oracle is :class:`tests.redteam.rt_ops.Down`: fed its training data, a model served behind
exactly the upstream computation it was trained behind answers ``trained == seen``.
"""
from __future__ import annotations

import dataclasses
import functools
import threading

import numpy as np
import pytest

from chariots import MLMode, Pipeline
from chariots.errors import VersionError
from chariots.nodes import Node
from chariots.ops import BaseOp
from chariots.pipelines.runners import SequentialRunner
from chariots.testing import TestOpStoreClient
from chariots.versioning import VersionedField, VersionType
from tests.redteam import rt_ops as o

D1 = [[1.0, 2.0], [3.0, 5.0]]
D2 = [[10.0, 20.0], [30.0, 50.0]]
RUNNER = SequentialRunner()


@pytest.fixture(autouse=True)
def _data():
    o.DATA["x"] = D1
    o.Gate.active = False
    yield
    o.DATA["x"] = D1
    o.Gate.active = False
    o.Gate.release.set()


@pytest.fixture
def store(tmp_path):
    return TestOpStoreClient(str(tmp_path / "store"))


def release(name, base, fields, module="tests.redteam.rt_release"):
    """A class as another release of the code would define it (same module and qualname)."""
    namespace = dict(fields, __module__=module, __qualname__=name)
    return type(base)(name, (base,), namespace)


def served_or_refused(pipeline, store, pipeline_input):
    """Loads and calls a serving pipeline: its answer, or None when the load is refused."""
    try:
        pipeline.load(store)
    except VersionError:
        return None
    return RUNNER.run(pipeline, pipeline_input)


def assert_exact(answer):
    """The promise: a refusal, or a model that sees exactly what it was trained on."""
    assert answer is None or answer["trained"] == answer["seen"], (
        f"the model answers behind an upstream computation it was not trained behind: {answer}"
    )


# --------------------------------------------------------------------------------------------
# 1. a save racing a training stores the new model of an upstream op under its old version


def test_save_racing_an_upstream_training_serves_downstream_behind_the_new_upstream(store):
    """DESIGN 5, "Save certifies nothing by itself. It snapshots each op's (version, bytes,
    lineage) under a lock that training also takes": Pipeline.save, called while the upstream
    model is half-way through its fit (model set, fit not returned), stores the new model's
    bytes under the upstream's previous version; the downstream model, trained behind the
    previous upstream, is then loaded and served behind the new one."""
    train = Pipeline([
        Node(o.Data(), output_nodes="x"),
        Node(o.SlowUp(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="u"),
        Node(o.Down(MLMode.FIT), input_nodes=["u"]),
    ], "train")
    RUNNER.run(train)  # a first training (not saved yet): slowup and down trained on D1

    o.DATA["x"] = D2  # the second training: slowup's fit is held once its model is set
    o.Gate.entered.clear()
    o.Gate.release.clear()
    o.Gate.active = True
    training = threading.Thread(target=RUNNER.run, args=(train,))
    training.start()
    assert o.Gate.entered.wait(10)
    saving = threading.Thread(target=train.save, args=(store,))
    saving.start()
    saving.join(3)  # the save waits for the training to finish (the pipeline's state lock)
    assert saving.is_alive()
    o.Gate.release.set()
    training.join(10)
    saving.join(10)
    o.Gate.active = False
    # what was saved is the second training, whole: served exactly behind it on its data
    assert_exact(served_or_refused(Pipeline([
        Node(o.SlowUp(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="u"),
        Node(o.Down(MLMode.PREDICT), input_nodes=["u"], output_nodes="__pipeline_output__"),
    ], "pred_d2"), store, D2))


# --------------------------------------------------------------------------------------------
# 2. versioned fields whose canonical value ignores their content


@dataclasses.dataclass
class Weights:
    values: np.ndarray


def _big(changed=False):
    array = np.arange(5000.0)
    if changed:
        array[2500] = -1.0
    return array


def _sparse(changed=False):
    import scipy.sparse

    matrix = scipy.sparse.lil_matrix((2000, 2000))
    matrix.setdiag(1.0)
    if changed:
        matrix[1000, 1000] = 5.0
    return matrix.tocsr()


def _jax(changed=False):
    jnp = pytest.importorskip("jax.numpy")
    return jnp.asarray(_big(changed))


CONTENT_CHANGES = {
    "scipy sparse matrix": _sparse,
    "jax array": _jax,
    "dataclass holding an ndarray": lambda changed=False: Weights(_big(changed)),
    "functools.partial over an ndarray": lambda changed=False: functools.partial(np.add, _big(changed)),
    "numpy RandomState (seed)": lambda changed=False: np.random.RandomState(1 if changed else 0),
    "numpy Generator (seed)": lambda changed=False: np.random.default_rng(1 if changed else 0),
}


@pytest.mark.parametrize("kind", sorted(CONTENT_CHANGES))
def test_versioned_field_content_change_changes_the_major(kind):
    """DESIGN 5, "Canonical values. A versioned field's hash must change whenever its value
    does: ... a content digest for arrays, data frames and fitted estimators (their str
    truncates or omits state)": these values hash the same before and after a change of their
    content, so a stateless op between two models may change in a new release unseen."""
    make = CONTENT_CHANGES[kind]

    def op_class(value):
        return release("Weighted", BaseOp, {
            "weights": VersionedField(value, VersionType.MAJOR),
            "execute": lambda self, x: x,
        })

    assert op_class(make()).__version__.major != op_class(make(changed=True)).__version__.major


def test_sparse_weights_changed_in_a_release_are_served_behind_the_old_model(store):
    """The same hole end to end: a release changes the sparse matrix of a stateless op between
    two models; the downstream model trained behind the old matrix is served behind the new."""
    def weighted(changed):
        matrix = _sparse(changed)
        return release("SparseWeighted", BaseOp, {
            "weights": VersionedField(matrix, VersionType.MAJOR),
            "execute": lambda self, x: np.asarray(x, dtype=float) * matrix[1000, 1000],
        })

    old, new = weighted(False), weighted(True)
    train = Pipeline([
        Node(o.Data(), output_nodes="x"),
        Node(o.Up(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="u"),
        Node(old(), input_nodes=["u"], output_nodes="w"),
        Node(o.Down(MLMode.FIT), input_nodes=["w"]),
    ], "train")
    RUNNER.run(train)
    train.save(store)
    pred = Pipeline([
        Node(o.Up(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="u"),
        Node(new(), input_nodes=["u"], output_nodes="w"),
        Node(o.Down(MLMode.PREDICT), input_nodes=["w"], output_nodes="__pipeline_output__"),
    ], "pred")
    assert_exact(served_or_refused(pred, store, D1))


# --------------------------------------------------------------------------------------------
# 3. honest uses refused


def _split_block(name):
    return Pipeline([
        Node(o.Split(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__"),
    ], name)


def test_tuple_output_of_a_nested_pipeline_is_the_same_graph_as_the_flat_op(store):
    """DESIGN 5, "The upstream graph of a stateful op S: every path ... nested pipelines
    flattened" (and the lineage how-to: "The nesting differs between the two pipelines and does
    not matter"): a tuple-output op wrapped in a nested pipeline whose node splits the tuple
    computes exactly what the flat op does, yet a model trained behind one is refused behind
    the other ("trained with nothing feeding its input 0")."""
    train = Pipeline([
        Node(o.Data(), output_nodes="x"),
        Node(o.Up(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="u"),
        Node(_split_block("split_block"), input_nodes=["u"], output_nodes=["a", "b"]),
        Node(o.Down(MLMode.FIT), input_nodes=["a", "b"]),
    ], "train")
    RUNNER.run(train)
    train.save(store)
    pred = Pipeline([
        Node(o.Up(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="u"),
        Node(o.Split(), input_nodes=["u"], output_nodes=["a", "b"]),
        Node(o.Down(MLMode.PREDICT), input_nodes=["a", "b"], output_nodes="__pipeline_output__"),
    ], "pred")
    pred.load(store)
    answer = RUNNER.run(pred, D1)
    assert answer["trained"] == answer["seen"]


def test_retraining_through_a_plain_loadable_op_whose_bytes_do_not_change(store):
    """DESIGN 5, "Lineage is recorded when state changes: S's upstream graph as it ran" and
    "Load picks the newest compatible set": a plain LoadableOp between two models whose
    state comes out byte-identical from a retraining (same data) keeps its content version and
    the lineage of its first save, so after an honest retraining of the whole pipeline (train,
    save, load the same graph) the serving pipeline is refused: 'learningoffset was trained
    behind upstream op up <first>', although it just ran behind the new one."""
    def train():
        return Pipeline([
            Node(o.Data(), output_nodes="x"),
            Node(o.Up(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="u"),
            Node(o.LearningOffset(), input_nodes=["u"], output_nodes="m"),
            Node(o.Down(MLMode.FIT), input_nodes=["m"]),
        ], "train")

    def pred():
        return Pipeline([
            Node(o.Up(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="u"),
            Node(o.LearningOffset(), input_nodes=["u"], output_nodes="m"),
            Node(o.Down(MLMode.PREDICT), input_nodes=["m"], output_nodes="__pipeline_output__"),
        ], "pred")

    first = train()
    RUNNER.run(first)
    first.save(store)
    pred().load(store)  # the first training serves

    second = train()  # the same pipeline retrained on the same data
    RUNNER.run(second)
    second.save(store)
    serving = pred()
    serving.load(store)
    answer = RUNNER.run(serving, D1)
    assert answer["trained"] == answer["seen"]


# --------------------------------------------------------------------------------------------
# 4. a generation naming None for a loaded model is followed without the check


def test_generation_naming_none_for_the_downstream_model_is_followed_unchecked(store):
    """DESIGN 5, "Generations are complete and checked everywhere ... a process applies one
    only after running this same check on the graph it would serve" (and "Validity comes from
    training, never from ... recording a generation"): a generation recorded by hand (store
    auth, no signing key: every state it names is a genuine, signed one) that names the newly
    retrained upstream and None for the downstream model makes a serving process swap the
    upstream and keep its downstream model, trained behind the old upstream; it reports
    itself ready, serving that generation."""
    import time

    from chariots.serving import PipelinesService

    train = Pipeline([
        Node(o.Data(), output_nodes="x"),
        Node(o.Up(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="u"),
        Node(o.Down(MLMode.FIT), input_nodes=["u"]),
    ], "train")
    RUNNER.run(train)
    train.save(store)
    pred = Pipeline([
        Node(o.Up(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="u"),
        Node(o.Down(MLMode.PREDICT), input_nodes=["u"], output_nodes="__pipeline_output__"),
    ], "pred")
    service = PipelinesService([pred], op_store_client=store, poll_interval=0.05)
    service.start()
    service.load_pipeline("pred")
    assert_exact(service.call_pipeline("pred", D1).value)

    o.DATA["x"] = D2  # the upstream alone is retrained and saved: nothing certifies down behind it
    train_up = Pipeline([Node(o.Data(), output_nodes="x"), Node(o.Up(MLMode.FIT), input_nodes=["x"])], "train_up")
    RUNNER.run(train_up)
    train_up.save(store)
    new_up = store.get_op_states("up")[-1].version

    store.post("/generations", {"pipeline_name": "pred", "versions": {"up": str(new_up), "down": None}})
    time.sleep(1.0)  # the service follows generations every 0.05 s
    assert_exact(service.call_pipeline("pred", D1).value)


def test_server_flow_refuses_a_plain_loadable_op_the_training_leaves_unchanged(store):
    """The getting-started flow (train, save, load through one PipelinesServer) with a plain
    LoadableOp between two models whose state training does not change (a vocabulary, a lookup
    table, a fixed offset): the server registered it at start (DESIGN 5: "registering ...
    certifies nothing"), the training runs it behind the new upstream model without changing
    its bytes, so its content version keeps the empty lineage of the registration and the
    serving pipeline is refused forever: "version 7a992 of op 'offset' was never trained behind
    upstream op 'up'", although the training pipeline just ran it there (rerunning it, as the
    hint says, changes nothing). DESIGN 5: "Lineage is recorded when state changes: S's
    upstream graph as it ran" / "Load picks the newest compatible set"."""
    from chariots.pipelines import PipelinesServer
    from chariots.testing import TestPipelinesClient

    train = Pipeline([
        Node(o.Data(), output_nodes="x"),
        Node(o.Up(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="u"),
        Node(o.Offset(), input_nodes=["u"], output_nodes="m"),
        Node(o.Down(MLMode.FIT), input_nodes=["m"]),
    ], "train")
    pred = Pipeline([
        Node(o.Up(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="u"),
        Node(o.Offset(), input_nodes=["u"], output_nodes="m"),
        Node(o.Down(MLMode.PREDICT), input_nodes=["m"], output_nodes="__pipeline_output__"),
    ], "pred")
    client = TestPipelinesClient(PipelinesServer([train, pred], op_store_client=store, import_name="rt"))
    client.call_pipeline(train)
    client.save_pipeline(train)
    client.load_pipeline(pred)
    answer = client.call_pipeline(pred, D1).value
    assert answer["trained"] == answer["seen"]


def test_a_process_follows_the_generation_another_process_loaded(store):
    """DESIGN 7, "Every server process ... follows the newest generation within a bounded
    time" and 5, "a process applies one only after running this same check": process A runs the
    training, process B saves it and loads the serving pipeline (generation 1); A cannot follow
    that honest generation ("op 'learningoffset' holds a state the op store does not hold:
    register the pipeline first"), keeps serving untrained models and stays not ready."""
    import time

    from chariots.serving import PipelinesService

    def pipelines():
        train = Pipeline([
            Node(o.Data(), output_nodes="x"),
            Node(o.Up(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="u"),
            Node(o.LearningOffset(), input_nodes=["u"], output_nodes="m"),
            Node(o.Down(MLMode.FIT), input_nodes=["m"]),
        ], "train")
        pred = Pipeline([
            Node(o.Up(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="u"),
            Node(o.LearningOffset(), input_nodes=["u"], output_nodes="m"),
            Node(o.Down(MLMode.PREDICT), input_nodes=["m"], output_nodes="__pipeline_output__"),
        ], "pred")
        return [train, pred]

    process_a = PipelinesService(pipelines(), op_store_client=store, poll_interval=0.05)
    process_a.start()
    process_b = PipelinesService(pipelines(), op_store_client=store, poll_interval=0.05)
    process_b.start()
    process_a.call_pipeline("train")
    process_b.save_pipeline("train")
    generation = process_b.load_pipeline("pred")
    assert_exact(process_b.call_pipeline("pred", D1).value)

    deadline = time.monotonic() + 5
    while process_a.pipeline_health("pred").get("generation") != generation and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process_a.pipeline_health("pred").get("generation") == generation, process_a.readiness()
    assert_exact(process_a.call_pipeline("pred", D1).value)


def test_an_explicit_link_lets_the_downstream_model_run_behind_the_linked_upstream(store):
    """DESIGN 5, "each stateful ancestor at a major the lineage (or an explicit link added
    through the op store client) names", and the lineage how-to ("register_valid_link adds a
    link to one saved state of the downstream op by hand; the load rule counts it like a
    training"): the link is stored (get_validated_links lists it) but the load ignores it and
    refuses, naming the lineage's major only."""
    train = Pipeline([
        Node(o.Data(), output_nodes="x"),
        Node(o.Up(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="u"),
        Node(o.Down(MLMode.FIT), input_nodes=["u"]),
    ], "train")
    RUNNER.run(train)
    train.save(store)
    o.DATA["x"] = D2
    train_up = Pipeline([Node(o.Data(), output_nodes="x"), Node(o.Up(MLMode.FIT), input_nodes=["x"])], "train_up")
    RUNNER.run(train_up)
    train_up.save(store)
    new_up = store.get_op_states("up")[-1].version

    store.register_valid_link("down", "up", new_up)  # "I know better: down may run behind it"
    assert new_up in store.get_validated_links("down", "up")
    pred = Pipeline([
        Node(o.Up(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="u"),
        Node(o.Down(MLMode.PREDICT), input_nodes=["u"], output_nodes="__pipeline_output__"),
    ], "pred")
    pred.load(store)
    assert pred.stored_versions()["up"] == new_up


def test_load_with_versions_none_keeps_a_model_behind_a_new_upstream(store):
    """The same hole through Pipeline.load(store, versions=...) (what followers and workers
    call): DESIGN 5, "versions: load exactly these states ... under the same check": None for
    the downstream model keeps the model the pipeline holds, unchecked behind the new upstream."""
    train = Pipeline([
        Node(o.Data(), output_nodes="x"),
        Node(o.Up(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="u"),
        Node(o.Down(MLMode.FIT), input_nodes=["u"]),
    ], "train")
    RUNNER.run(train)
    train.save(store)
    pred = Pipeline([
        Node(o.Up(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="u"),
        Node(o.Down(MLMode.PREDICT), input_nodes=["u"], output_nodes="__pipeline_output__"),
    ], "pred")
    pred.load(store)
    o.DATA["x"] = D2
    train_up = Pipeline([Node(o.Data(), output_nodes="x"), Node(o.Up(MLMode.FIT), input_nodes=["x"])], "train_up")
    RUNNER.run(train_up)
    train_up.save(store)
    new_up = store.get_op_states("up")[-1].version
    try:
        pred.load(store, versions={"up": new_up, "down": None})
    except VersionError:
        return
    assert_exact(RUNNER.run(pred, D1))
