"""What pipelines and nodes need from an op store client, as a typing protocol."""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Protocol, Set

if TYPE_CHECKING:
    from chariots.pipelines._pipeline import Pipeline
    from chariots.versioning import Version


class OpStoreProtocol(Protocol):
    """The op store operations saving and loading rely on.

    :class:`chariots.op_store.BaseOpStoreClient` implements it over HTTP or in process.
    """

    def get_all_versions_of_op(self, op_name: str) -> List["Version"]:
        """Every stored version of an op (empty when it was never saved)."""

    def get_op_bytes_for_version(self, op_name: str, version: "Version") -> bytes:
        """The bytes saved for one version of an op."""

    def save_op_bytes(self, op_name: str, version: "Version", op_bytes: bytes) -> None:
        """Stores the bytes of one version of an op (bytes first, then the version)."""

    def register_valid_link(
        self, downstream_op: str, upstream_op: str, upstream_op_version: "Version"
    ) -> None:
        """Records that ``downstream_op`` was validated with that version of ``upstream_op``."""

    def get_validated_links(self, downstream_op: str, upstream_op: str) -> Set["Version"]:
        """The upstream versions validated for a (downstream, upstream) pair."""

    def pipeline_exists(self, pipeline_name: str) -> bool:
        """Whether a pipeline of that name was ever registered or saved."""

    def register_new_pipeline(self, pipeline: "Pipeline") -> None:
        """Records the pipeline's name and nodes."""
