"""The op store's database operations, on a SQLAlchemy session, free of any HTTP concern."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chariots.errors import NotFoundError, OpIdentityError
from chariots.op_store.models import DBLineageLink, DBOp, DBPipeline, DBServedGeneration, DBStagedTraining, DBVersion
from chariots.pipelines import Generation, OpState, StateRecord
from chariots.versioning import Version

_T = TypeVar("_T")
logger = logging.getLogger("chariots.op_store")
_ATTEMPTS = 3


def in_transaction(session: Session, work: Callable[[Session], _T]) -> _T:
    """Runs ``work`` and commits; retried when a concurrent writer inserted the same row first.

    Every write of the store is an idempotent "make sure it exists", so replaying it after a
    unique-constraint conflict is correct on any database.
    """
    for attempt in range(_ATTEMPTS):
        try:
            result = work(session)
            session.commit()
            return result
        except IntegrityError:
            session.rollback()
            if attempt == _ATTEMPTS - 1:
                raise
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")


def find_op(session: Session, op_name: str) -> Optional[DBOp]:
    """The op of that name, or None."""
    return session.scalar(select(DBOp).where(DBOp.name == op_name))


def ensure_op(session: Session, op_name: str, class_path: Optional[str] = None) -> DBOp:
    """The op of that name, added (and flushed) when missing.

    :param class_path: the class of the op being saved: recorded the first time, checked after
    :raises OpIdentityError: if the name already holds states of another class
    """
    op = find_op(session, op_name)
    if op is None:
        op = DBOp(name=op_name, class_path=class_path)
        session.add(op)
        session.flush()
    elif class_path is not None:
        if op.class_path is None:
            op.class_path = class_path
        elif op.class_path != class_path:
            raise OpIdentityError(
                f"op name {op_name!r} holds the states of class {op.class_path} in the op store, and "
                f"{class_path} was saved under it: the two classes would load each other's states. "
                f"Give one of them another name with name=, e.g. {class_path.rsplit('.', 1)[-1]}(..., "
                f"name='{op_name}_2')"
            )
    return op


def _same_hashes(model, version: Version):
    return (model.major == version.major) & (model.minor == version.minor) & (model.patch == version.patch)


def versions_of_op(session: Session, op_name: str) -> List[Version]:
    """Every saved version of an op, oldest first (empty for an unknown op; rows that do not
    hold a valid version are skipped and logged)."""
    return [row.to_version() for row in _valid_rows(version_rows(session, op_name), op_name)]


def _valid_rows(rows: List[DBVersion], op_name: str) -> List[DBVersion]:
    valid = []
    for row in rows:
        try:
            row.to_version()
        except ValueError as error:
            logger.warning("skipping stored version row %d of op %r: it does not hold a valid version (%s)",
                           row.id, op_name, error)
            continue
        valid.append(row)
    return valid


def version_rows(session: Session, op_name: str) -> List[DBVersion]:
    return list(
        session.scalars(
            select(DBVersion)
            .join(DBOp, DBVersion.op_id == DBOp.id)
            .where(DBOp.name == op_name)
            .order_by(DBVersion.id)
        )
    )


def find_version(session: Session, op: DBOp, version: Version) -> Optional[DBVersion]:
    """The row of that version (same three hashes) of an op, or None."""
    return session.scalar(select(DBVersion).where(DBVersion.op_id == op.id, _same_hashes(DBVersion, version)))


def ensure_version(
    session: Session,
    op_name: str,
    version: Version,
    class_path: Optional[str] = None,
    class_major: Optional[str] = None,
    saved_by: Optional[str] = None,
    upstream: Optional[Dict[str, Any]] = None,
) -> Tuple[DBVersion, bool]:
    """The row of a version of an op, added unless it is there; its bytes must be in the saver.

    A version saved again keeps its first creation time and lineage: versions are immutable.

    :returns: the row and whether it was added
    """
    op = ensure_op(session, op_name, class_path)
    row = find_version(session, op, version)
    if row is not None:
        if row.class_major is None and class_major is not None:
            row.class_major = class_major
        return row, False
    row = DBVersion(
        op_id=op.id,
        major=version.major,
        minor=version.minor,
        patch=version.patch,
        creation_time=version.creation_time,
        saved_at=time.time(),
        class_major=class_major,
        saved_by=saved_by,
        upstream=upstream,
    )
    session.add(row)
    session.flush()
    return row, True


def add_link(session: Session, version_row: DBVersion, upstream_op: str, upstream: Version, explicit: bool) -> bool:
    """Records that the state ``version_row`` may run behind ``upstream`` of ``upstream_op``.

    :returns: whether the link was added
    """
    upstream_row = ensure_op(session, upstream_op)
    exists = session.scalar(
        select(DBLineageLink.id).where(
            DBLineageLink.version_id == version_row.id,
            DBLineageLink.upstream_op_id == upstream_row.id,
            _same_hashes(DBLineageLink, upstream),
        )
    )
    if exists is not None:
        return False
    session.add(
        DBLineageLink(
            version_id=version_row.id,
            upstream_op_id=upstream_row.id,
            major=upstream.major,
            minor=upstream.minor,
            patch=upstream.patch,
            creation_time=upstream.creation_time,
            explicit=explicit,
        )
    )
    session.flush()
    return True


def states_of_op(session: Session, op_name: str) -> List[OpState]:
    """Every saved state of an op with its lineage, oldest first (empty for an unknown op)."""
    return states_of_ops(session, [op_name]).get(op_name, [])


def states_of_ops(session: Session, op_names: List[str]) -> Dict[str, List[OpState]]:
    """Every saved state of each op with its lineage, oldest first, by op name (three queries
    whatever the number of ops; an unknown op has an empty list)."""
    found: Dict[str, List[OpState]] = {name: [] for name in op_names}
    if not op_names:
        return found
    ops = {op.id: op for op in session.scalars(select(DBOp).where(DBOp.name.in_(list(found))))}
    if not ops:
        return found
    # the store's commit order (row ids), never the clock of the host that trained
    query = select(DBVersion).where(DBVersion.op_id.in_(list(ops))).order_by(DBVersion.op_id, DBVersion.id)
    rows_by_op: Dict[int, List[DBVersion]] = {op_id: [] for op_id in ops}
    for row in session.scalars(query):
        rows_by_op[row.op_id].append(row)
    rows = []
    for op_id, op_rows in rows_by_op.items():
        valid = _valid_rows(op_rows, ops[op_id].name)
        rows_by_op[op_id] = valid
        rows.extend(valid)
    links: Dict[int, List[Tuple[str, DBLineageLink]]] = {row.id: [] for row in rows}
    if rows:
        link_query = (
            select(DBOp.name, DBLineageLink)
            .join(DBOp, DBLineageLink.upstream_op_id == DBOp.id)
            .where(DBLineageLink.version_id.in_(list(links)))
            .order_by(DBLineageLink.id)
        )
        for upstream_name, link in session.execute(link_query):
            links[link.version_id].append((upstream_name, link))
    for op_id, op_rows in rows_by_op.items():
        op = ops[op_id]
        found[op.name] = [_state(op, row, links[row.id]) for row in op_rows]
    return found


def _state(op: DBOp, row: DBVersion, links: List[Tuple[str, DBLineageLink]]) -> OpState:
    trained_on: Dict[str, Version] = {}
    explicit: Dict[str, List[Version]] = {}
    for upstream_name, link in links:
        if link.explicit:
            explicit.setdefault(upstream_name, []).append(link.to_version())
        else:
            trained_on[upstream_name] = link.to_version()
    return OpState(
        version=row.to_version(),
        class_path=op.class_path,
        class_major=row.class_major,
        lineage=trained_on,
        links=explicit,
        saved_by=row.saved_by,
        saved_at=row.saved_at,
        upstream=row.upstream,
        sequence=row.id,
    )


def validated_links(
    session: Session, downstream_op: str, upstream_op: str, downstream_version: Optional[Version] = None
) -> List[Version]:
    """The upstream versions a downstream op's states may run behind (of one state when
    ``downstream_version`` is given), oldest first."""
    found: Dict[Tuple[str, str, str], Version] = {}
    for state in states_of_op(session, downstream_op):
        if downstream_version is not None and state.version != downstream_version:
            continue
        named = list(state.links.get(upstream_op, ()))
        if upstream_op in state.lineage:
            named.append(state.lineage[upstream_op])
        for version in named:
            found.setdefault((version.major, version.minor, version.patch), version)
    return sorted(found.values(), key=lambda version: version.creation_time)


def find_pipeline(session: Session, pipeline_name: str) -> Optional[DBPipeline]:
    """The pipeline of that name, or None."""
    return session.scalar(select(DBPipeline).where(DBPipeline.name == pipeline_name))


def record_pipeline(session: Session, pipeline_name: str, node_names: List[str]) -> bool:
    """Adds a pipeline, or updates the node names of a known one.

    :returns: whether the pipeline was added
    """
    now = time.time()
    pipeline = find_pipeline(session, pipeline_name)
    if pipeline is not None:
        pipeline.node_names = list(node_names)
        pipeline.updated_at = now
        session.flush()
        return False
    session.add(DBPipeline(name=pipeline_name, node_names=list(node_names), registered_at=now, updated_at=now))
    session.flush()
    return True


def pipeline_names(session: Session) -> List[str]:
    """The names of every pipeline the store has seen, sorted."""
    return list(session.scalars(select(DBPipeline.name).order_by(DBPipeline.name)))


# ---------------------------------------------------------------------------- what every serving process shares


def commit_records(session: Session, pipeline_name: Optional[str], node_names: List[str],
                   states: List[StateRecord]) -> int:
    """Records states (their bytes uploaded), their lineage and the pipeline, in ``session``.

    A state already recorded keeps its lineage (saving certifies nothing new).

    :returns: how many states were recorded for the first time
    """
    added = 0
    for state in states:
        row, created = ensure_version(
            session, state.op_name, state.version, state.class_path, state.class_major, pipeline_name,
            None if state.upstream is None else dict(state.upstream),
        )
        if created:
            added += 1
            for upstream, upstream_version in (state.lineage or {}).items():
                add_link(session, row, upstream, upstream_version, explicit=False)
    if pipeline_name is not None:
        record_pipeline(session, pipeline_name, node_names)
    return added


def _generation(session: Session, row: DBServedGeneration, with_states: bool) -> Generation:
    versions = {name: None if text is None else Version.parse(text) for name, text in row.versions.items()}
    states: Dict[str, OpState] = {}
    named = sorted(name for name, version in versions.items() if version is not None)
    if with_states and named:
        stored = states_of_ops(session, named)
        for name, version in versions.items():
            if version is None:
                continue
            state = next((state for state in stored.get(name, ()) if state.version == version), None)
            if state is not None:
                states[name] = state
    return Generation(pipeline_name=row.pipeline_name, number=row.number, versions=versions,
                      recorded_at=row.recorded_at, states=states)


def add_generation(session: Session, pipeline_name: str, versions: Dict[str, Optional[Version]]) -> Generation:
    """Records the pipeline's next generation, numbered one more than its last (an op named with
    no version holds no state).

    :raises NotFoundError: if a version is not stored
    """
    for op_name, version in versions.items():
        if version is None:
            continue
        op = find_op(session, op_name)
        if op is None or find_version(session, op, version) is None:
            raise NotFoundError(
                f"version {str(version)!r} of op {op_name!r} is not in the op store: a generation of "
                f"pipeline {pipeline_name!r} can only name saved versions (save the pipeline first)"
            )
    last = session.scalar(
        select(func.max(DBServedGeneration.number)).where(DBServedGeneration.pipeline_name == pipeline_name)
    )
    row = DBServedGeneration(
        pipeline_name=pipeline_name,
        number=(last or 0) + 1,
        versions={op_name: None if version is None else str(version) for op_name, version in sorted(versions.items())},
        recorded_at=time.time(),
    )
    session.add(row)
    session.flush()  # a concurrent load taking the same number fails here and is replayed
    return _generation(session, row, with_states=False)


def latest_generation(session: Session, pipeline_name: str) -> Optional[Generation]:
    """The newest generation of a pipeline with the states it names (None: none was recorded)."""
    row = session.scalar(
        select(DBServedGeneration)
        .where(DBServedGeneration.pipeline_name == pipeline_name)
        .order_by(DBServedGeneration.number.desc())
        .limit(1)
    )
    return None if row is None else _generation(session, row, with_states=True)


def generation_numbers(session: Session) -> Dict[str, int]:
    """The newest generation number of every pipeline ever loaded, in one query."""
    query = select(DBServedGeneration.pipeline_name, func.max(DBServedGeneration.number)).group_by(
        DBServedGeneration.pipeline_name
    )
    return {name: int(number) for name, number in session.execute(query)}


def add_staged_training(session: Session, pipeline_name: str, node_names: List[str],
                        states: List[Dict[str, Any]]) -> None:
    """Keeps the records (as JSON) of states a training run uploaded, for a save to commit."""
    session.add(DBStagedTraining(pipeline_name=pipeline_name, node_names=node_names, states=states,
                                 staged_at=time.time(), committed=False))


def newest_staged_training(session: Session, pipeline_name: str) -> Optional[DBStagedTraining]:
    """The newest staged training of a pipeline, locked for the transaction (None: none staged)."""
    return session.scalar(
        select(DBStagedTraining)
        .where(DBStagedTraining.pipeline_name == pipeline_name)
        .order_by(DBStagedTraining.id.desc())
        .limit(1)
        .with_for_update()
    )
