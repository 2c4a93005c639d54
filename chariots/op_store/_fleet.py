"""What the serving processes of a pipeline share through the op store, as service methods.

- **Served generations.** A successful ``load`` records the versions it checked as the
  pipeline's next generation; every server process follows the newest one
  (:mod:`chariots.pipelines._generations`).
- **Staged trainings.** A training run uploads its states' bytes and stages their records; a
  save of the pipeline, in whichever process, commits the newest staged training.

Mixed into :class:`~chariots.op_store._service.OpStoreService`, whose ``database`` and
``saver`` it uses.
"""

from __future__ import annotations

import time
from typing import Dict, List, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chariots.errors import BadRequestError, NotFoundError
from chariots.op_store import _repository as repository
from chariots.op_store._names import check_node_name, check_op_name, op_bytes_path
from chariots.op_store._records import record_from_json, record_to_json
from chariots.op_store.models import DBServedGeneration, DBStagedTraining
from chariots.pipelines import Generation, StateRecord
from chariots.versioning import Version

__all__ = ["FleetServiceMixin", "commit_records"]


def _generation(row: DBServedGeneration) -> Generation:
    return Generation(
        pipeline_name=row.pipeline_name,
        number=row.number,
        versions={name: Version.parse(text) for name, text in row.versions.items()},
        recorded_at=row.recorded_at,
    )


def commit_records(session: Session, pipeline_name: Optional[str], node_names: List[str],
                   states: List[StateRecord]) -> None:
    """Records states (their bytes uploaded), their lineage and the pipeline, in ``session``."""
    for state in states:
        row, created = repository.ensure_version(
            session, state.op_name, state.version, state.class_path, state.class_major, pipeline_name
        )
        if created:
            for upstream, upstream_version in (state.lineage or {}).items():
                repository.add_link(session, row, upstream, upstream_version, explicit=False)
    if pipeline_name is not None:
        repository.record_pipeline(session, pipeline_name, node_names)


class FleetServiceMixin:
    """Served generations and staged trainings (see the module doc)."""

    # ------------------------------------------------------------------ served generations

    def record_generation(self, pipeline_name: str, versions: Dict[str, Version]) -> Generation:
        """Records the versions a load checked as the pipeline's next generation.

        :param versions: op name -> the version every serving process must hold
        :raises NotFoundError: if one of the versions is not stored (a generation only names
                               versions any process can load)
        :returns: the recorded generation, numbered one more than the pipeline's last
        """
        name = check_node_name(pipeline_name, "pipeline name")
        for op_name in versions:
            check_op_name(op_name)

        def record(session: Session) -> Generation:
            for op_name, version in versions.items():
                op = repository.find_op(session, op_name)
                if op is None or repository.find_version(session, op, version) is None:
                    raise NotFoundError(
                        f"version {str(version)!r} of op {op_name!r} is not in the op store: a generation of "
                        f"pipeline {name!r} can only name saved versions (save the pipeline first)"
                    )
            last = session.scalar(
                select(func.max(DBServedGeneration.number)).where(DBServedGeneration.pipeline_name == name)
            )
            row = DBServedGeneration(
                pipeline_name=name,
                number=(last or 0) + 1,
                versions={op_name: str(version) for op_name, version in sorted(versions.items())},
                recorded_at=time.time(),
            )
            session.add(row)
            session.flush()  # a concurrent load taking the same number fails here and is replayed
            return _generation(row)

        with self.database.session() as session:
            return repository.in_transaction(session, record)

    def latest_generation(self, pipeline_name: str) -> Optional[Generation]:
        """The newest served generation of a pipeline (None: no load was ever recorded)."""
        name = check_node_name(pipeline_name, "pipeline name")
        with self.database.session() as session:
            row = session.scalar(
                select(DBServedGeneration)
                .where(DBServedGeneration.pipeline_name == name)
                .order_by(DBServedGeneration.number.desc())
                .limit(1)
            )
            return None if row is None else _generation(row)

    def generation_numbers(self) -> Dict[str, int]:
        """The newest generation number of every pipeline ever loaded, in one query."""
        with self.database.session() as session:
            query = select(DBServedGeneration.pipeline_name, func.max(DBServedGeneration.number)).group_by(
                DBServedGeneration.pipeline_name
            )
            return {name: int(number) for name, number in session.execute(query)}

    # ------------------------------------------------------------------ staged trainings

    def stage_training(self, pipeline_name: str, node_names: List[str], states: List[StateRecord]) -> None:
        """Keeps the records of states whose bytes a training run uploaded, for a save to commit.

        :raises BadRequestError: if the bytes of a state were not uploaded
        """
        name = check_node_name(pipeline_name, "pipeline name")
        node_names = [check_node_name(node_name, "node name") for node_name in node_names]
        self._check_uploaded(states)
        row = DBStagedTraining(
            pipeline_name=name,
            node_names=node_names,
            states=[record_to_json(state) for state in states],
            staged_at=time.time(),
            committed=False,
        )
        with self.database.session() as session:
            repository.in_transaction(session, lambda s: s.add(row))

    def commit_staged_training(self, pipeline_name: str) -> Optional[List[StateRecord]]:
        """Commits the newest staged training of a pipeline, in one transaction with its lineage.

        :returns: the committed states, or None when the newest staged training was committed
                  already (or none was ever staged)
        """
        name = check_node_name(pipeline_name, "pipeline name")

        def commit(session: Session) -> Optional[List[StateRecord]]:
            row = session.scalar(
                select(DBStagedTraining)
                .where(DBStagedTraining.pipeline_name == name)
                .order_by(DBStagedTraining.id.desc())
                .limit(1)
                .with_for_update()
            )
            if row is None or row.committed:
                return None
            states = [record_from_json(state, index) for index, state in enumerate(row.states)]
            self._check_uploaded(states)
            commit_records(session, name, list(row.node_names), states)
            row.committed = True
            return states

        with self.database.session() as session:
            return repository.in_transaction(session, commit)

    def _check_uploaded(self, states: List[StateRecord]) -> None:
        for state in states:
            check_op_name(state.op_name)
            if not self.saver.exists(op_bytes_path(state.op_name, state.version)):
                raise BadRequestError(
                    f"the bytes of version {str(state.version)!r} of op {state.op_name!r} were not uploaded: "
                    "upload them before committing the save"
                )
