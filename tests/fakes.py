"""An in-memory op store with the whole store protocol, for tests of the pure core and the service."""
from __future__ import annotations

import time
from typing import Dict, List, Optional

from chariots.errors import MissingStateBytesError, NotFoundError
from chariots.pipelines import Generation, OpState, StateRecord
from chariots.versioning import Version


class InMemoryOpStore:
    """Keeps states (versions, lineage, explicit links), bytes and pipelines in dictionaries.

    Like the real store, a save's states become visible only when :meth:`commit_save` runs, and
    a state already committed keeps its first lineage.
    """

    def __init__(self):
        self.op_bytes: dict[tuple[str, Version], bytes] = {}
        self.states: dict[str, list[OpState]] = {}
        self.pipelines: set[str] = set()
        self.generations: dict[str, list[Generation]] = {}
        self.staged: dict[str, list[tuple[list, list, bool]]] = {}

    def get_all_versions_of_op(self, op_name: str) -> list[Version]:
        return [state.version for state in self.get_op_states(op_name)]

    def get_op_states(self, op_name: str) -> List[OpState]:
        return list(self.states.get(op_name, []))  # commit order, as the real store

    def get_states(self, op_names: List[str]) -> Dict[str, List[OpState]]:
        return {name: self.get_op_states(name) for name in op_names}

    def get_op_bytes_for_version(self, op_name: str, version: Version) -> bytes:
        return self.op_bytes[(op_name, version)]

    def upload_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> None:
        if not self._find(op_name, version):
            self.op_bytes[(op_name, version)] = op_bytes

    def _find(self, op_name: str, version: Version) -> Optional[OpState]:
        return next((state for state in self.states.get(op_name, []) if state.version == version), None)

    def commit_save(self, pipeline_name: Optional[str], node_names: List[str], states: List[StateRecord]) -> None:
        for record in states:
            if (record.op_name, record.version) not in self.op_bytes:
                raise MissingStateBytesError(f"the bytes of {record.op_name} {record.version} were not uploaded")
            if not self._find(record.op_name, record.version):
                self.states.setdefault(record.op_name, []).append(
                    OpState(record.version, record.class_path, record.class_major, dict(record.lineage or {}),
                            saved_by=pipeline_name, upstream=record.upstream)
                )
        if pipeline_name is not None:
            self.pipelines.add(pipeline_name)

    def save_op_bytes(self, op_name: str, version: Version, op_bytes: bytes) -> None:
        self.upload_op_bytes(op_name, version, op_bytes)
        if not self._find(op_name, version):
            self.states.setdefault(op_name, []).append(OpState(version))

    def register_valid_link(
        self, downstream_op: str, upstream_op: str, upstream_op_version: Version,
        downstream_op_version: Optional[Version] = None,
    ) -> None:
        states = self.get_op_states(downstream_op)
        if downstream_op_version is not None:
            states = [state for state in states if state.version == downstream_op_version]
        states[-1].links.setdefault(upstream_op, []).append(upstream_op_version)

    def get_validated_links(self, downstream_op: str, upstream_op: str) -> set[Version]:
        found: Dict[tuple, Version] = {}
        for state in self.get_op_states(downstream_op):
            for version in [*state.links.get(upstream_op, ()), *filter(None, [state.lineage.get(upstream_op)])]:
                found[(version.major, version.minor, version.patch)] = version
        return set(found.values())

    def pipeline_exists(self, pipeline_name: str) -> bool:
        return pipeline_name in self.pipelines

    def register_new_pipeline(self, pipeline) -> None:
        self.pipelines.add(pipeline.name)

    def record_generation(self, pipeline_name: str, versions: Dict[str, Version]) -> Generation:
        for op_name, version in versions.items():
            if self._find(op_name, version) is None:
                raise NotFoundError(f"version {version} of op {op_name!r} is not in the op store")
        recorded = self.generations.setdefault(pipeline_name, [])
        generation = Generation(pipeline_name, len(recorded) + 1, dict(versions), time.time())
        recorded.append(generation)
        return generation

    def latest_generation(self, pipeline_name: str) -> Optional[Generation]:
        recorded = self.generations.get(pipeline_name)
        if not recorded:
            return None
        last = recorded[-1]
        states = {name: self._find(name, version) for name, version in last.versions.items()}
        return Generation(last.pipeline_name, last.number, last.versions, last.recorded_at,
                          {name: state for name, state in states.items() if state is not None})

    def generation_numbers(self) -> Dict[str, int]:
        return {name: recorded[-1].number for name, recorded in self.generations.items() if recorded}

    def stage_training(self, pipeline_name: str, node_names: List[str], states: List[StateRecord]) -> None:
        for record in states:
            if (record.op_name, record.version) not in self.op_bytes:
                raise MissingStateBytesError(f"the bytes of {record.op_name} {record.version} were not uploaded")
        self.staged.setdefault(pipeline_name, []).append([list(node_names), list(states), False])

    def commit_staged_training(self, pipeline_name: str) -> Optional[List[StateRecord]]:
        staged = self.staged.get(pipeline_name)
        if not staged or staged[-1][2]:
            return None
        node_names, states, _ = staged[-1]
        self.commit_save(pipeline_name, node_names, states)
        staged[-1][2] = True
        return states
