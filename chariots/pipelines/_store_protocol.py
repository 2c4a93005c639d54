"""What pipelines need from an op store: the protocol, and the records saved and loaded through it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Protocol, Set

if TYPE_CHECKING:
    from chariots.pipelines._pipeline import Pipeline
    from chariots.versioning import Version


@dataclass(frozen=True)
class OpState:
    """One saved state of an op, as the op store keeps it.

    :param version: the op's version in that state
    :param class_path: the op's class (``module.QualName``) when it was saved
    :param class_major: the major of the op's class version then (None: saved by an older
                        Chariots that did not record it)
    :param lineage: what the state was trained on: upstream op name -> upstream version
    :param links: upstream versions validated explicitly for this state: op name -> versions
    :param saved_by: the pipeline whose save stored the state
    :param saved_at: when the state was stored
    :param upstream: the upstream graph the state was trained behind (place -> node, see
                     :mod:`chariots.pipelines._lineage`; None: stored before upstream graphs
                     were recorded, checked by ``lineage`` alone)
    :param sequence: the state's rank in the op store's commit order (None: not told)
    """

    version: "Version"
    class_path: Optional[str] = None
    class_major: Optional[str] = None
    lineage: Dict[str, "Version"] = field(default_factory=dict)
    links: Dict[str, List["Version"]] = field(default_factory=dict)
    saved_by: Optional[str] = None
    saved_at: Optional[float] = None
    upstream: Optional[Mapping[str, Any]] = None
    sequence: Optional[int] = None

    def accepted_majors(self, upstream_op: str) -> Optional[Set[str]]:
        """The upstream majors this state may run behind (None when it names no such op)."""
        majors = {version.major for version in self.links.get(upstream_op, ())}
        trained_on = self.lineage.get(upstream_op)
        if trained_on is not None:
            majors.add(trained_on.major)
        return majors or None


@dataclass(frozen=True)
class StateRecord:
    """One op's state in a save: committed with the others of the pipeline in one transaction.

    :param op_name: the op's name
    :param version: the version the bytes were uploaded under
    :param class_path: the op's class (``module.QualName``)
    :param class_major: the major of the op's class version
    :param lineage: what the state was trained on, by op name (None: nothing recorded)
    :param upstream: the upstream graph it was trained behind (None: nothing recorded)
    """

    op_name: str
    version: "Version"
    class_path: str
    class_major: str
    lineage: Optional[Dict[str, "Version"]] = None
    upstream: Optional[Mapping[str, Any]] = None


@dataclass(frozen=True)
class Generation:
    """One served generation of a pipeline: the versions a successful load checked, numbered.

    Every server process of the pipeline follows the newest generation the op store records.

    :param pipeline_name: the pipeline loaded
    :param number: the generation number (1 for the first load, one more for each later one)
    :param versions: the version of every loadable op of the pipeline: op name -> version (None:
                     the op holds no state, an untrained model its training pipeline will train)
    :param recorded_at: when the load recorded it (a ``time.time()`` stamp)
    :param states: the stored state of each version named, by op name
    """

    pipeline_name: str
    number: int
    versions: Dict[str, Optional["Version"]] = field(default_factory=dict)
    recorded_at: Optional[float] = None
    #: the stored state of each version named (what a process checks before serving them), when
    #: the op store sent them along
    states: Dict[str, OpState] = field(default_factory=dict)


class OpStoreProtocol(Protocol):
    """The op store operations saving, loading and serving rely on.

    :class:`chariots.op_store.BaseOpStoreClient` implements it, over HTTP
    (:class:`~chariots.op_store.OpStoreClient`) or by calling a store in this process
    (:class:`~chariots.op_store.EmbeddedOpStoreClient`).
    """

    def get_all_versions_of_op(self, op_name: str) -> List["Version"]:
        """Every stored version of an op (empty when it was never saved)."""

    def get_op_states(self, op_name: str) -> List[OpState]:
        """Every stored state of an op with its lineage, oldest first."""

    def get_states(self, op_names: List[str]) -> Dict[str, List[OpState]]:
        """Every stored state of each op, oldest first, by op name (one request for them all)."""

    def get_op_bytes_for_version(self, op_name: str, version: "Version") -> bytes:
        """The bytes saved for one version of an op."""

    def upload_op_bytes(self, op_name: str, version: "Version", op_bytes: bytes) -> None:
        """Uploads the bytes of a state; nothing is listed until :meth:`commit_save`."""

    def commit_save(self, pipeline_name: str, node_names: List[str], states: List[StateRecord]) -> None:
        """Records the uploaded states, their lineage and the pipeline, all at once or not at all."""

    def save_op_bytes(self, op_name: str, version: "Version", op_bytes: bytes) -> None:
        """Stores the bytes of one version of an op and records it (no lineage)."""

    def register_valid_link(
        self, downstream_op: str, upstream_op: str, upstream_op_version: "Version",
        downstream_op_version: Optional["Version"] = None,
    ) -> None:
        """Records that a state of ``downstream_op`` may run behind that version of ``upstream_op``."""

    def get_validated_links(self, downstream_op: str, upstream_op: str) -> Set["Version"]:
        """The upstream versions validated for a (downstream, upstream) pair."""

    def pipeline_exists(self, pipeline_name: str) -> bool:
        """Whether a pipeline of that name was ever registered or saved."""

    def register_new_pipeline(self, pipeline: "Pipeline") -> None:
        """Records the pipeline's name and nodes."""

    def record_generation(self, pipeline_name: str, versions: Dict[str, "Version"]) -> Generation:
        """Records the versions a load checked as the pipeline's next served generation."""

    def latest_generation(self, pipeline_name: str) -> Optional[Generation]:
        """The newest served generation of a pipeline with the states it names (None: it was never
        loaded)."""

    def generation_numbers(self) -> Dict[str, int]:
        """The newest generation number of every pipeline ever loaded (one cheap query)."""

    def stage_training(self, pipeline_name: str, node_names: List[str], states: List[StateRecord]) -> None:
        """Keeps the states a training run uploaded, for a save in any process to commit."""

    def commit_staged_training(self, pipeline_name: str) -> Optional[List[StateRecord]]:
        """Commits the pipeline's newest staged training unless saved already (None: nothing to commit)."""
