"""The lineage promise as a property (issue 18): whatever the graph and whatever happens to it, every
answer is either a refusal or served exactly behind what each model was trained behind.

Hypothesis draws a graph (chains, diamonds, stateless ops between and before models, nested
pipelines, the same class twice, two classes of one name from two modules) built of the tracer
ops of :mod:`tests.lineage.tracer_ops`, whose answers say, model by model, whether it is served
behind the computation it was trained behind. Then it draws a sequence of actions on two server
processes sharing one op store: train every model or one, save, load, follow the newest
generation, a new release changing a stateless op's major or renaming an op, a rollback to an
older generation, a generation mixing two loads' versions, a host whose clock runs behind or
ahead, and calls in the process or through a worker's job. Every call must answer with every
report true, or be refused.

Bounded in ``make test``; ``make soak`` runs thousands of examples. The run's end prints how many
examples and distinct graph shapes were tried.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from chariots import MLMode, Pipeline
from chariots.errors import ChariotsError
from chariots.nodes import Node
from chariots.op_store import EmbeddedOpStoreClient
from chariots.pipelines.runners import SequentialRunner
from chariots.serving import PipelinesService
from chariots.workers._rq_job import run_pipeline_job
from tests import generative
from tests.lineage import tracer_ops, tracer_ops_b
from tests.lineage.tracer_ops import Collect, Source, Step, Tracer, entry_value, reports_of, step_release

pytestmark = pytest.mark.generative
TEST = "lineage promise (stateful)"
KINDS = ("step", "mix", "mix_b", "tracer")
runner = SequentialRunner()


@dataclass(frozen=True)
class Design:
    """A graph: each node's kind, the earlier nodes it reads (-1: the entry), and whether it runs
    inside a nested pipeline of its own."""

    kinds: Tuple[str, ...]
    inputs: Tuple[Tuple[int, ...], ...]
    nested: Tuple[bool, ...]

    def shape(self) -> str:
        return ";".join(f"{kind}{'[n]' if nested else ''}<{','.join(map(str, reads))}"
                        for kind, reads, nested in zip(self.kinds, self.inputs, self.nested))

    @property
    def tracers(self) -> List[int]:
        return [index for index, kind in enumerate(self.kinds) if kind == "tracer"]


@st.composite
def designs(draw) -> Design:
    count = draw(st.integers(2, 6))
    kinds, inputs, nested = [], [], []
    for index in range(count):
        kinds.append(draw(st.sampled_from(KINDS)))
        reads = draw(st.lists(st.integers(-1, index - 1), min_size=1, max_size=2, unique=True))
        inputs.append(tuple(reads))
        nested.append(draw(st.booleans()) if draw(st.integers(0, 3)) == 0 else False)
    if "tracer" not in kinds:
        kinds[draw(st.integers(1, count - 1))] = "tracer"
    return Design(tuple(kinds), tuple(inputs), tuple(nested))


@dataclass
class Release:
    """What a process's code is: the major of each stateless node's class, renamed ops."""

    majors: Dict[int, int] = field(default_factory=dict)
    names: Dict[int, str] = field(default_factory=dict)


def _op(design: Design, release: Release, index: int, mode: Optional[MLMode]):
    kind = design.kinds[index]
    name = release.names.get(index, f"{kind}{index}")
    if kind == "tracer":
        return Tracer(mode, name=name)
    base = {"step": Step, "mix": tracer_ops.Mix, "mix_b": tracer_ops_b.Mix}[kind]
    major = release.majors.get(index)
    cls = base if major is None else step_release(major, base)
    return cls(name=name)


def build(design: Design, release: Release, name: str, training: Optional[List[int]] = None) -> Pipeline:
    """The serving pipeline (``training`` None) or a training pipeline training those tracers
    (the others predict: they are loaded first)."""
    nodes: List[Node] = []
    entry = "__pipeline_input__"
    if training is not None:
        nodes.append(Node(Source(), output_nodes="entry"))
        entry = "entry"
    consumed = set()
    for index in range(len(design.kinds)):
        reads = [entry if read < 0 else f"v{read}" for read in design.inputs[index]]
        consumed.update(read for read in design.inputs[index] if read >= 0)
        mode = None
        if design.kinds[index] == "tracer":
            mode = MLMode.FIT_PREDICT if training is not None and index in training else MLMode.PREDICT
        op = _op(design, release, index, mode)
        if design.nested[index]:  # the node alone in a pipeline of its own, used as a node
            op = _nested(op, len(reads), f"{name}_block{index}")
        nodes.append(Node(op, input_nodes=reads, output_nodes=f"v{index}"))
    sinks = [f"v{index}" for index in range(len(design.kinds)) if index not in consumed]
    nodes.append(Node(Collect(), input_nodes=sinks, output_nodes="__pipeline_output__"))
    return Pipeline(nodes, name)


def _nested(op, inputs: int, name: str) -> Pipeline:
    """``op`` inside a pipeline used as a node (several inputs reach it as one list: unpacked)."""
    if inputs == 1:
        return Pipeline([Node(op, input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")], name)
    parts = [f"u{index}" for index in range(inputs)]
    return Pipeline([Node(_Unpack(inputs), input_nodes=["__pipeline_input__"], output_nodes=parts),
                     Node(op, input_nodes=parts, output_nodes="__pipeline_output__")], name)


class _Unpack(tracer_ops.BaseOp):
    def __init__(self, count: int):
        super().__init__(name=f"unpack{count}")
        self.count = count

    def execute(self, values):
        return tuple(values)


class Process:
    """One server process: its release, its pipelines (serve, train_all, train_<tracer>), its clock."""

    def __init__(self, design: Design, release: Release, store, clock: float):
        self.design, self.release, self.clock = design, release, clock
        pipelines = [build(design, release, "serve"), build(design, release, "train_all", design.tracers)]
        pipelines += [build(design, release, f"train_{index}", [index]) for index in design.tracers]
        self.service = PipelinesService(pipelines, op_store_client=store)
        self.service.start()
        self.service.generations.stop()  # the machine applies generations itself (follow)


class LineageMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="chariots-lineage-property-")
        self.store = EmbeddedOpStoreClient(self.directory, secret_key="lineage-property-key-" + "k" * 16)
        self.processes: List[Process] = []
        self.generations: List[Dict[str, Any]] = []
        self.answers = 0

    @initialize(design=designs())
    def start(self, design: Design) -> None:
        self.design = design
        generative.record(TEST, design.shape())
        self.processes = [Process(design, Release(), self.store, 0.0) for _ in range(2)]

    # ------------------------------------------------------------------ actions

    def _with_clock(self, process: Process):
        import chariots.ml._base_ml_op as ml_op

        real = ml_op.time.time

        class Clock:
            def __enter__(self_inner):
                ml_op.time.time = lambda: real() + process.clock

            def __exit__(self_inner, *exc):
                ml_op.time.time = real

        return Clock()

    @rule(which=st.integers(0, 1), pick=st.integers(-1, 5))
    def train(self, which: int, pick: int) -> None:
        process = self.processes[which]
        tracers = self.design.tracers
        name = "train_all" if pick < 0 or not tracers else f"train_{tracers[pick % len(tracers)]}"
        with self._with_clock(process):
            try:
                if name != "train_all":  # its other models predict: load them first
                    process.service.load_pipeline(name)
                process.service.run_pipeline(name)
            except ChariotsError:
                pass  # refused (an untrained model, a version conflict): nothing was served

    @rule(which=st.integers(0, 1), pick=st.integers(-1, 5))
    def save(self, which: int, pick: int) -> None:
        tracers = self.design.tracers
        name = "train_all" if pick < 0 or not tracers else f"train_{tracers[pick % len(tracers)]}"
        try:
            self.processes[which].service.save_pipeline(name)
        except ChariotsError:
            pass

    @rule(which=st.integers(0, 1))
    def deploy(self, which: int) -> None:
        """Train every model, save and load: the usual day (so that calls are often answered)."""
        self.train(which, -1)
        self.save(which, -1)
        self.load(which)

    @rule(which=st.integers(0, 1))
    def load(self, which: int) -> None:
        try:
            number = self.processes[which].service.load_pipeline("serve")
        except ChariotsError:
            return
        generation = self.store.latest_generation("serve")
        assert generation is not None and generation.number == number
        self.generations.append(dict(generation.versions))

    @rule(which=st.integers(0, 1))
    def follow(self, which: int) -> None:
        applied = self.processes[which].service.generations.apply_latest("serve")
        generative.record(f"{TEST}: generations followed", "applied" if applied else "refused or none")

    @rule(which=st.integers(0, 1), node=st.integers(0, 5), change=st.sampled_from(["major", "rename"]),
          major=st.integers(2, 4))
    def new_release(self, which: int, node: int, change: str, major: int) -> None:
        old = self.processes[which]
        index = node % len(self.design.kinds)
        release = Release(dict(old.release.majors), dict(old.release.names))
        if change == "major" and self.design.kinds[index] != "tracer":
            release.majors[index] = major
        else:
            release.names[index] = f"renamed{index}_{major}"
        old.service.generations.stop()
        self.processes[which] = Process(self.design, release, self.store, old.clock)

    @rule(which=st.integers(0, 1), skew=st.sampled_from([-3600.0, 0.0, 3600.0]))
    def clock(self, which: int, skew: float) -> None:
        self.processes[which].clock = skew

    @precondition(lambda self: len(self.generations) >= 2)
    @rule(back=st.integers(1, 5))
    def rollback(self, back: int) -> None:
        versions = self.generations[-1 - back % len(self.generations)]
        self.store.record_generation("serve", versions)

    @precondition(lambda self: len(self.generations) >= 2)
    @rule(first=st.integers(0, 5), second=st.integers(0, 5))
    def mixed_generation(self, first: int, second: int) -> None:
        """A generation nobody's load checked: one load's versions for some ops, another's for the rest."""
        a = self.generations[first % len(self.generations)]
        b = self.generations[second % len(self.generations)]
        names = sorted(set(a) | set(b))
        mixed = {name: (a if index % 2 else b).get(name, a.get(name)) for index, name in enumerate(names)}
        try:
            self.store.record_generation("serve", mixed)
        except ChariotsError:
            pass

    @rule(which=st.integers(0, 1), worker=st.booleans())
    def call(self, which: int, worker: bool) -> None:
        service = self.processes[which].service
        try:
            if worker:  # what a worker runs: the definition and the versions this process serves
                definition, versions = service.get_pipeline("serve").definition()
                output = run_pipeline_job(definition, entry_value(), self.store, runner, versions)["pipeline_output"]
            else:
                output = service.call_pipeline("serve", entry_value()).value
        except ChariotsError as error:
            generative.record(f"{TEST}: calls refused", type(error).__name__)
            return  # a refusal (an untrained model, a conflict): allowed
        reports = reports_of(output)
        generative.record(f"{TEST}: answers checked", "worker" if worker else "process")
        self.answers += 1
        assert all(exact for _, exact, _ in reports), (
            f"served behind another upstream than it was trained behind: {reports} (graph {self.design.shape()}, "
            f"release {self.processes[which].release})"
        )

    @rule(which=st.integers(0, 1), worker=st.booleans())
    def follow_then_call(self, which: int, worker: bool) -> None:
        """What a process does between two polls: catch up, then answer."""
        self.follow(which)
        self.call(which, worker)

    def teardown(self) -> None:
        for process in self.processes:
            process.service.generations.stop()
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)


LineageMachine.TestCase.settings = settings(
    max_examples=generative.examples(25, 2000), stateful_step_count=18, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLineagePromise = LineageMachine.TestCase


@settings(max_examples=generative.examples(15, 500), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(design=designs())
def test_the_graph_a_model_was_trained_behind_is_served(design, tmp_path_factory):
    """The other half of the promise: trained, saved and loaded by the same code, every graph is
    served, every model behind exactly its training (the rule refuses no honest load)."""
    generative.record("lineage promise (the trained graph serves)", design.shape())
    directory = tmp_path_factory.mktemp("served")
    store = EmbeddedOpStoreClient(str(directory), secret_key="lineage-property-key-" + "k" * 16)
    process = Process(design, Release(), store, 0.0)
    try:
        process.service.run_pipeline("train_all")
        process.service.save_pipeline("train_all")
        assert process.service.load_pipeline("serve") >= 1
        reports = reports_of(process.service.call_pipeline("serve", entry_value()).value)
        assert {name for name, _, _ in reports} == {f"tracer{index}" for index in design.tracers}
        assert all(exact for _, exact, _ in reports), reports
    finally:
        process.service.generations.stop()
        store.close()
