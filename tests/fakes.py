"""An in-memory op store with the interface pipelines use, for tests of the pure core."""
from __future__ import annotations

from chariots.versioning import Version


class InMemoryOpStore:
    """Keeps versions, bytes, validated links and pipelines in dictionaries."""

    def __init__(self):
        self.op_bytes: dict[tuple[str, Version], bytes] = {}
        self.versions: dict[str, list[Version]] = {}
        self.links: dict[tuple[str, str], set[Version]] = {}
        self.pipelines: set[str] = set()

    def get_all_versions_of_op(self, op_name: str) -> list[Version]:
        return list(self.versions.get(op_name, []))

    def get_op_bytes_for_version(self, op_name: str, version: Version) -> bytes:
        return self.op_bytes[(op_name, version)]

    def save_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> None:
        self.op_bytes[(op_name, version)] = op_bytes
        known = self.versions.setdefault(op_name, [])
        if version not in known:
            known.append(version)

    def register_valid_link(self, downstream_op: str, upstream_op: str, upstream_op_version: Version) -> None:
        self.links.setdefault((downstream_op, upstream_op), set()).add(upstream_op_version)

    def get_validated_links(self, downstream_op: str, upstream_op: str) -> set[Version]:
        return set(self.links.get((downstream_op, upstream_op), set()))

    def pipeline_exists(self, pipeline_name: str) -> bool:
        return pipeline_name in self.pipelines

    def register_new_pipeline(self, pipeline) -> None:
        self.pipelines.add(pipeline.name)
