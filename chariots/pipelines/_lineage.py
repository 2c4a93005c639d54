"""Training lineage: the rule of when a stateful op's state may be served (DESIGN.md section 5).

**The promise**: a stateful op's state is served only behind exactly the upstream computation it
was trained behind. This module is the whole rule; the load loop, generation following, workers
and a training run's own check all ask it.

A pipeline is flattened into its leaf nodes (nested pipelines opened up). The *upstream graph* of
a stateful leaf ``S`` is every path from ``S``'s inputs back to its nearest stateful ancestors or
to an *entry* (an op with no input, or the pipeline's input). Each node of it is identified by
its *place* (the input slots and outputs followed from ``S`` to reach it, e.g. ``0.0/1.0``: the
node feeding slot 1 of the node feeding slot 0 of ``S``), its class path, its op name, its kind
(stateful, stateless, entry) and its major (a stateless op's class major; a stateful ancestor's
state major). Two ops sharing a name are two nodes; identity is never the name alone.

Training records ``S``'s upstream graph as it ran (:class:`Upstream`). Serving checks the graph it
would run against the recorded one, in two zones:

- **between S and a stateful ancestor** (a place on a path that ends at a stateful op, on either
  side): the serving graph must equal the recorded one node for node: nothing added, dropped,
  renamed, replaced or changed in major; a stateful ancestor at a major the record names (or an
  explicit link names). A recorded stateful ancestor the serving pipeline lacks is a refusal.
- **the entry side** (the other places): training reads a dataset and serving reads a request,
  so a place only one side has is allowed; a place both sides fill with the same class must
  hold the same major.

An op that trains when it runs (``MLMode.FIT``, ``FIT_PREDICT``) accepts anything; a stateless op
downstream accepts anything. States recorded before upstream graphs existed (``lineage`` by
name only) are checked by name: each nearest stateful ancestor, and each stateless op the record
names, at a major the record names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple

from chariots.errors import PipelineError, VersionError
from chariots.pipelines.nodes import BaseNode, ReservedNodes

if TYPE_CHECKING:
    from chariots.pipelines._pipeline import Pipeline
    from chariots.pipelines._store_protocol import OpState
    from chariots.versioning import Version

__all__ = ["FlatGraph", "Upstream", "UpstreamNode", "iter_leaves", "short", "version_error"]

_INPUT = ReservedNodes.pipeline_input.value
_OUTPUT = ReservedNodes.pipeline_output.value

STATEFUL, STATELESS, ENTRY = "stateful", "stateless", "entry"
#: the identity of a pipeline's input (an entry)
PIPELINE_INPUT = "__pipeline_input__"
#: the class path of the node gathering several inputs of a nested pipeline into its input
NESTED_INPUT = "chariots.pipelines.Pipeline.__pipeline_input__"


def short(version: "Version") -> str:
    """The short form of a version a person reads: the first 5 hex digits of its major."""
    return version.major[:5]


def iter_leaves(pipeline: "Pipeline") -> Iterator[BaseNode]:
    """The leaf nodes of a pipeline (nested pipelines opened up), in execution order."""
    for node in pipeline.execution_order():
        if node.requires_runner:
            yield from iter_leaves(node.op)
        else:
            yield node


@dataclass(frozen=True)
class UpstreamNode:
    """One node of an upstream graph: what it is, not where it is (the place is its key).

    :param kind: ``'stateful'``, ``'stateless'`` or ``'entry'``
    :param class_path: ``module.QualName`` of its op (``'__pipeline_input__'`` for the input)
    :param name: its op name
    :param version: its version: the full version of a stateful ancestor's state, else a version
                    text whose major is the class major (only majors are compared)
    """

    kind: str
    class_path: str
    name: str
    major: str
    version: Optional[str] = None

    def to_json(self) -> Dict[str, Any]:
        data = {"kind": self.kind, "class": self.class_path, "name": self.name, "major": self.major}
        if self.version is not None:
            data["version"] = self.version
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "UpstreamNode":
        return cls(str(data["kind"]), str(data["class"]), str(data["name"]), str(data["major"]),
                   None if data.get("version") is None else str(data["version"]))

    def describe(self) -> str:
        """How a message names it: ``stateless op 'scale' (tests.ops.Scale, major 1a2b3)``."""
        if self.kind == ENTRY and self.class_path == PIPELINE_INPUT:
            return "the pipeline's input"
        what = {STATEFUL: "stateful op", STATELESS: "stateless op", ENTRY: "entry op"}[self.kind]
        return f"{what} {self.name!r} ({self.class_path}, major {self.major[:5]})"


class Upstream(Dict[str, UpstreamNode]):
    """The upstream graph of a stateful op: place -> node (see the module doc)."""

    def to_json(self) -> Dict[str, Dict[str, Any]]:
        """The graph as JSON (what an op store keeps with the state)."""
        return {place: node.to_json() for place, node in sorted(self.items())}

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, Any]]) -> Optional["Upstream"]:
        if data is None:
            return None
        return cls({str(place): UpstreamNode.from_json(node) for place, node in data.items()})

    def between(self) -> Set[str]:
        """The places on a path from the op to a stateful ancestor (the ancestors included)."""
        found: Set[str] = set()
        for place, node in self.items():
            if node.kind == STATEFUL:
                parts = place.split("/")
                found.update("/".join(parts[:length]) for length in range(1, len(parts) + 1))
        return found


# ---------------------------------------------------------------------------- the flat graph


def _part(output: str, index: int, count: int) -> str:
    """The label of part ``index`` of ``count`` of an output (the whole output is ``"0"``): a node's
    tuple outputs and a nested pipeline's output split by its node get the same labels."""
    return f"{index}of{count}" if output == "0" else f"{output}:{index}of{count}"

#: an input of a leaf: the leaf feeding it (-1: the pipeline's input) and which output of it
_Feed = Tuple[int, str]


@dataclass
class _Leaf:
    name: str
    kind: str  # stateful, stateless, or nested-input (a pseudo leaf gathering a nested pipeline's inputs)
    class_path: str
    class_major: str
    place: str  # where it is, for messages
    slots: List[_Feed]


class FlatGraph:
    """The leaves of a pipeline, nested pipelines opened up, each with its ordered inputs.

    Stateful leaves are known by their op names, which must be unique in the flattened
    pipeline (two would share a store identity); stateless leaves may repeat a name.

    :param pipeline: the pipeline to flatten
    :raises PipelineError: if a stateful leaf shares its op name with another leaf
    """

    def __init__(self, pipeline: "Pipeline"):
        self._leaves: List[_Leaf] = []
        self._flatten(pipeline, [], pipeline.name)
        real = [index for index, leaf in enumerate(self._leaves) if leaf.kind != "nested-input"]
        self.order: List[str] = [self._leaves[index].name for index in real]
        self.stateful: Dict[str, bool] = {}
        for index in real:
            leaf = self._leaves[index]
            self.stateful[leaf.name] = self.stateful.get(leaf.name, False) or leaf.kind == STATEFUL
        self._check_names(real)
        self._index: Dict[str, int] = {self._leaves[index].name: index for index in real
                                       if self._leaves[index].kind == STATEFUL}
        #: for each stateful leaf, the names of the leaves its upstream graph holds (sorted)
        self.sources: Dict[str, Tuple[str, ...]] = {
            name: tuple(sorted({self._leaves[source].name for source in self._reachable(index)
                                if self._leaves[source].kind != "nested-input"}))
            for name, index in self._index.items()
        }

    # ------------------------------------------------------------------ building

    def _flatten(self, pipeline: "Pipeline", input_feeds: List[_Feed], where: str) -> _Feed:
        """Adds the leaves of ``pipeline``, whose ``__pipeline_input__`` is ``input_feeds``; returns
        what feeds its ``__pipeline_output__``."""
        # keyed by output reference: loaded pipelines hold copies of nodes, never new references
        produced: Dict[int, _Feed] = {}
        pipeline_input = self._input_of(input_feeds, where)
        output: _Feed = (-1, "0")
        for position, node in enumerate(pipeline.execution_order()):
            slots = [pipeline_input if reference.node is None else produced[id(reference)]
                     for reference in node.input_references]
            if node.requires_runner:
                inner_output = self._flatten(node.op, slots, f"{where} > {node.op.name}")
                count = len(node.output_references)
                # a nested pipeline's output split into several outputs: each is a part of it, named
                # as the same op's outputs would be without the nesting
                feeds = [inner_output] if count == 1 else [(inner_output[0], _part(inner_output[1], index, count))
                                                           for index in range(count)]
            else:
                op = node.op
                kind = STATEFUL if node.is_loadable else STATELESS
                self._leaves.append(_Leaf(node.name, kind, op.class_path, node.node_version.major
                                          if kind == STATELESS else op.class_version.major,
                                          f"node {position} of pipeline {where!r}", slots))
                leaf = len(self._leaves) - 1
                count = len(node.output_references)
                feeds = [(leaf, _part("0", index, count) if count > 1 else "0") for index in range(count)]
            for reference, feed in zip(node.output_references, feeds):
                if reference.reference == _OUTPUT:
                    output = feed
                else:
                    produced[id(reference)] = feed
        return output

    def _input_of(self, input_feeds: List[_Feed], where: str) -> _Feed:
        if not input_feeds:
            return (-1, "0")
        if len(input_feeds) == 1:
            return input_feeds[0]
        # a nested pipeline fed by several outputs takes them as one list: a node of its own
        # identified by what it is, not by the nested pipeline's name (training and serving may
        # name their nested pipelines differently)
        self._leaves.append(_Leaf(PIPELINE_INPUT, "nested-input", NESTED_INPUT, "",
                                  f"input of pipeline {where!r}", list(input_feeds)))
        return (len(self._leaves) - 1, "0")

    def _check_names(self, real: List[int]) -> None:
        first: Dict[str, int] = {}
        for index in real:
            leaf = self._leaves[index]
            if leaf.name not in first:
                first[leaf.name] = index
                continue
            other = self._leaves[first[leaf.name]]
            if leaf.kind == STATEFUL or other.kind == STATEFUL:
                raise PipelineError(
                    f"two nodes use the op name {leaf.name!r} ({other.place} and {leaf.place}): "
                    f"the op store would mix their states. Give one of the ops another name with name=, "
                    f"e.g. MyOp(..., name='{leaf.name}_2')"
                )

    def _reachable(self, index: int) -> List[int]:
        seen: List[int] = []
        stack = [feed[0] for feed in self._leaves[index].slots if feed[0] >= 0]
        while stack:
            source = stack.pop()
            if source in seen:
                continue
            seen.append(source)
            if self._leaves[source].kind != STATEFUL:
                stack.extend(feed[0] for feed in self._leaves[source].slots if feed[0] >= 0)
        return seen

    # ------------------------------------------------------------------ upstream graphs

    def upstream(self, name: str, versions: Mapping[str, "Version"]) -> Upstream:
        """The upstream graph of stateful leaf ``name`` when its stateful ancestors hold ``versions``
        (by op name)."""
        graph = Upstream()

        def visit(place: str, feed: _Feed) -> None:
            source, output = feed
            place = f"{place}.{output}"
            if source < 0:
                graph[place] = UpstreamNode(ENTRY, PIPELINE_INPUT, PIPELINE_INPUT, "")
                return
            leaf = self._leaves[source]
            if leaf.kind == STATEFUL:
                version = versions[leaf.name]
                graph[place] = UpstreamNode(STATEFUL, leaf.class_path, leaf.name, version.major, str(version))
                return
            kind = ENTRY if not leaf.slots else STATELESS
            graph[place] = UpstreamNode(kind, leaf.class_path, leaf.name, leaf.class_major)
            for slot, inner in enumerate(leaf.slots):
                visit(f"{place}/{slot}", inner)

        for slot, feed in enumerate(self._leaves[self._index[name]].slots):
            visit(str(slot), feed)
        return graph

    def lineage(self, name: str, versions: Mapping[str, "Version"]) -> Dict[str, "Version"]:
        """What leaf ``name`` consumed by op name (the record of states before upstream graphs,
        still kept: the op store's links and the web page read it)."""
        return {source: versions[source] for source in self.sources.get(name, ()) if source in versions}

    def incompatibility(self, name: str, state: "OpState", versions: Mapping[str, "Version"]) -> Optional[str]:
        """Why ``state`` of stateful leaf ``name`` cannot be served behind the given versions (the
        version of every leaf by name; None when it can), by the rule of the module doc."""
        recorded = state.upstream
        if recorded is None:
            return self._legacy_incompatibility(name, state, versions)
        serving = self.upstream(name, versions)
        return _difference(name, state, Upstream.from_json(recorded), serving)

    def _legacy_incompatibility(self, name: str, state: "OpState", versions: Mapping[str, "Version"]
                                ) -> Optional[str]:
        for source in self.sources.get(name, ()):
            loaded = versions[source]
            accepted = state.accepted_majors(source)
            if accepted is None:
                if self.stateful[source]:
                    return (
                        f"version {short(state.version)} of op {name!r} was never trained behind upstream op "
                        f"{source!r} (which loads {short(loaded)})"
                    )
                continue
            if loaded.major not in accepted:
                trained = ", ".join(sorted(major[:5] for major in accepted))
                return (
                    f"version {short(state.version)} of op {name!r} was trained behind upstream op {source!r} "
                    f"{trained}, but upstream op {source!r} now loads {short(loaded)}"
                )
        return None


def _at(place: str) -> str:
    return f"at {place}" if "/" in place else f"feeding its input {place.split('.')[0]}"


def _difference(name: str, state: "OpState", recorded: Upstream, serving: Upstream) -> Optional[str]:
    """The first difference the rule refuses between the recorded and the serving upstream graphs."""
    what = f"version {short(state.version)} of op {name!r}"
    between = recorded.between() | serving.between()
    for place in sorted(between):
        trained, served = recorded.get(place), serving.get(place)
        if trained is None:
            return f"{what} was trained with nothing {_at(place)}, where the serving pipeline has {served.describe()}"
        if served is None:
            lacks = "an upstream model it was trained behind" if trained.kind == STATEFUL else "an op"
            return (f"{what} was trained behind {trained.describe()} {_at(place)}, which the serving pipeline "
                    f"lacks ({lacks})")
        if (trained.kind, trained.class_path, trained.name) != (served.kind, served.class_path, served.name):
            if trained.kind == STATEFUL:
                return (f"{what} was trained behind {trained.describe()} {_at(place)}, which the serving pipeline "
                        f"lacks (it has {served.describe()} there)")
            return (f"{what} was trained behind {trained.describe()} {_at(place)}, where the serving pipeline has "
                    f"{served.describe()}")
        if trained.kind == STATEFUL:
            accepted = {trained.major} | {version.major for version in state.links.get(trained.name, ())}
            if served.major not in accepted:
                majors = ", ".join(sorted(major[:5] for major in accepted))
                return (f"{what} was trained behind upstream op {trained.name!r} {majors}, but upstream op "
                        f"{trained.name!r} now loads {served.major[:5]}")
        elif served.major != trained.major:
            return (f"{what} was trained behind {trained.describe()} {_at(place)}, and the serving pipeline runs "
                    f"major {served.major[:5]} of it")
    for place in sorted((set(recorded) & set(serving)) - between):  # the entry side
        trained, served = recorded[place], serving[place]
        if trained.kind != ENTRY and trained.class_path == served.class_path and trained.major != served.major:
            return (f"{what} was trained behind {trained.describe()} {_at(place)}, and the serving pipeline runs "
                    f"major {served.major[:5]} of it")
    return None


def version_error(name: str, problems: List[str], newest: Optional["OpState"]) -> VersionError:
    """The error of a stateful op none of whose stored states fits what its upstream ops load."""
    saved_by = newest.saved_by if newest is not None else None
    rerun = f"the pipeline that trains it ({saved_by!r})" if saved_by else "its training pipeline"
    return VersionError.incompatible(
        f"no stored version of op {name!r} fits the versions its upstream ops load: {problems[0]}. "
        f"Rerun {rerun} so that {name!r} trains behind them, save it, then load again"
    )
