"""Training lineage: which ops a stateful op consumed, through stateless ops and nested pipelines.

A pipeline is flattened into its leaf nodes (nested pipelines opened up, their input wired to
what feeds them). For each stateful (loadable) leaf, its *sources* are every leaf on the paths
from its inputs back to, and including, its nearest stateful ancestors. Training records the
sources' versions (the lineage); loading checks a stored state's lineage against the versions
the sources load.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Set, Tuple

from chariots.errors import PipelineError, VersionError
from chariots.pipelines.nodes import BaseNode, ReservedNodes

if TYPE_CHECKING:
    from chariots.pipelines._pipeline import Pipeline
    from chariots.pipelines._store_protocol import OpState
    from chariots.versioning import Version

_OUTPUT = ReservedNodes.pipeline_output.value


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


class FlatGraph:
    """The leaves of a pipeline and, for each stateful leaf, the leaves its lineage covers.

    Stateful leaves are known by their op names, which must be unique in the flattened
    pipeline (two would share a store identity); stateless leaves may repeat a name.

    :param pipeline: the pipeline to flatten
    :raises PipelineError: if a stateful leaf shares its op name with another leaf
    """

    def __init__(self, pipeline: "Pipeline"):
        self._names: List[str] = []
        self._places: List[str] = []
        self._upstream: List[Tuple[int, ...]] = []
        self._stateful: List[bool] = []
        self._flatten(pipeline, (), pipeline.name)
        self.order: List[str] = list(self._names)
        self.stateful: Dict[str, bool] = {}
        for index, name in enumerate(self._names):
            self.stateful[name] = self.stateful.get(name, False) or self._stateful[index]
        self._check_names()
        self.sources: Dict[str, Tuple[str, ...]] = {
            self._names[index]: tuple(sorted({self._names[source] for source in self._sources_of(index)}))
            for index in range(len(self._names))
            if self._stateful[index]
        }

    def _flatten(self, pipeline: "Pipeline", input_leaves: Tuple[int, ...], where: str) -> Tuple[int, ...]:
        # keyed by output reference: loaded pipelines hold copies of nodes, never new references
        produced: Dict[int, Tuple[int, ...]] = {}
        pipeline_output: Tuple[int, ...] = ()
        for index, node in enumerate(pipeline.execution_order()):
            feeding: Set[int] = set()
            for reference in node.input_references:
                feeding.update(input_leaves if reference.node is None else produced[id(reference)])
            if node.requires_runner:
                leaves = self._flatten(node.op, tuple(sorted(feeding)), f"{where} > {node.op.name}")
            else:
                self._names.append(node.name)
                self._places.append(f"node {index} of pipeline {where!r}")
                self._upstream.append(tuple(sorted(feeding)))
                self._stateful.append(node.is_loadable)
                leaves = (len(self._names) - 1,)
            for reference in node.output_references:
                if reference.reference == _OUTPUT:
                    pipeline_output = leaves
                else:
                    produced[id(reference)] = leaves
        return pipeline_output

    def _check_names(self) -> None:
        first: Dict[str, int] = {}
        for index, name in enumerate(self._names):
            if name not in first:
                first[name] = index
                continue
            other = first[name]
            if self._stateful[index] or self._stateful[other]:
                raise PipelineError(
                    f"two nodes use the op name {name!r} ({self._places[other]} and {self._places[index]}): "
                    f"the op store would mix their states. Give one of the ops another name with name=, "
                    f"e.g. MyOp(..., name='{name}_2')"
                )

    def _sources_of(self, index: int) -> List[int]:
        seen: List[int] = []
        stack = list(self._upstream[index])
        while stack:
            source = stack.pop()
            if source in seen:
                continue
            seen.append(source)
            if not self._stateful[source]:
                stack.extend(self._upstream[source])
        return seen

    def lineage(self, name: str, versions: Dict[str, "Version"]) -> Dict[str, "Version"]:
        """What leaf ``name`` consumed, given the current version of every leaf."""
        return {source: versions[source] for source in self.sources.get(name, ())}

    def incompatibility(self, name: str, state: "OpState", versions: Dict[str, "Version"]) -> Optional[str]:
        """Why ``state`` of leaf ``name`` cannot run behind the given leaf versions (None if it can).

        Each nearest stateful ancestor must be at a major the state names; each stateless op
        between them too when the state names it. A stateless op the state does not name is
        allowed.
        """
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


def version_error(name: str, problems: List[str], newest: Optional["OpState"]) -> VersionError:
    """The error of a stateful op none of whose stored states fits what its upstream ops load."""
    saved_by = newest.saved_by if newest is not None else None
    rerun = f"the pipeline that trains it ({saved_by!r})" if saved_by else "its training pipeline"
    return VersionError.incompatible(
        f"no stored version of op {name!r} fits the versions its upstream ops load: {problems[0]}. "
        f"Rerun {rerun} so that {name!r} trains behind them, save it, then load again"
    )
