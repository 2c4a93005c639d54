"""Ops of the generative lineage test: values that carry the computation that made them.

Every value flowing through these pipelines is ``{"prov": ..., "reports": [...]}``:

- ``prov`` describes the computation behind the value: an entry (``("entry",)``: the training
  data or a request), a stateless op (``("op", class path, name, major, inputs' provs)``), or a
  model's prediction (``("model", name, training id)``: a model's output is its own state, as the
  rule cuts lineage at stateful ancestors);
- ``reports`` gathers, from every :class:`Tracer` the value went through, whether it was served
  behind exactly the computation it was trained behind.

A :class:`Tracer` records, when it trains, the *core* of its inputs' provenance (every path that
reaches a model; the entry side, which differs between a dataset and a request by design, is
cut); when it predicts, it reports whether the core of what it is served on is the same. The
promise holds when every report of every answer says so (or the load was refused).
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

from chariots.ml import BaseMLOp
from chariots.ops import BaseOp
from chariots.versioning import VersionedField, VersionType

Value = Dict[str, Any]


def entry_value() -> Value:
    return {"prov": ("entry",), "reports": []}


def core(prov: Any) -> Any:
    """The part of a provenance the promise is about: paths reaching a model (None: entry side)."""
    kind = prov[0]
    if kind == "model":
        return prov
    if kind == "entry":
        return None
    inputs = tuple(core(tuple(item) if isinstance(item, list) else item) for item in prov[4])
    if all(item is None for item in inputs):
        return None
    return ("op", prov[1], prov[2], prov[3], inputs)


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value


def _merged(values: Tuple[Value, ...]) -> List[Any]:
    reports: List[Any] = []
    for value in values:
        reports.extend(value["reports"])
    return reports


class Step(BaseOp):
    """A stateless op: its output's provenance names its class, name and major, and its inputs."""

    factor = VersionedField(1, VersionType.MAJOR)

    def execute(self, *values: Value) -> Value:
        cls = type(self)
        prov = ("op", f"{cls.__module__}.{cls.__qualname__}", self.name, cls.__version__.major,
                tuple(_freeze(value["prov"]) for value in values))
        return {"prov": prov, "reports": _merged(values)}


class Mix(Step):
    """Another stateless class (tests.lineage.tracer_ops_b.Mix shares its class name)."""


def step_release(factor: int, base: type = Step) -> type:
    """A new release of ``base``: the same class path, another major field."""
    return type(BaseOp)(base.__name__, (base,), {"factor": VersionedField(factor, VersionType.MAJOR),
                                                 "__module__": base.__module__, "__qualname__": base.__qualname__})


class Source(BaseOp):
    """The training data: an entry."""

    def execute(self) -> Value:
        return entry_value()


class Tracer(BaseMLOp):
    """A model remembering the core of what it was trained behind, reporting what it is served behind."""

    training_update_version = VersionType.MAJOR

    def _init_model(self) -> Any:
        return {"trained_core": None}

    def fit(self, *values: Value) -> None:
        self._model = {"trained_core": _freeze(tuple(core(_freeze(value["prov"])) for value in values))}

    def predict(self, *values: Value) -> Value:
        served = _freeze(tuple(core(_freeze(value["prov"])) for value in values))
        trained = _freeze(self._model["trained_core"])
        # FIT_PREDICT predicts on its first input only: compare what both sides saw of it
        exact = trained[: len(served)] == served if len(served) < len(trained) else trained == served
        report = [self.name, bool(exact), os.getpid()]
        return {"prov": ("model", self.name, self._training_id), "reports": _merged(values) + [report]}


class Collect(BaseOp):
    """Gathers every sink of the graph into the pipeline's output (its reports)."""

    def execute(self, *values: Value) -> Value:
        return {"prov": ("entry",), "reports": _merged(values)}


def reports_of(output: Optional[Value]) -> List[Any]:
    return [] if output is None else [tuple(report) for report in output["reports"]]
