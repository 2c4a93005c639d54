"""The op store's database operations, on a SQLAlchemy session, free of any HTTP concern."""

from __future__ import annotations

import logging
import time
from typing import Callable, Dict, List, Optional, Tuple, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chariots.errors import OpIdentityError
from chariots.op_store.models import DBLineageLink, DBOp, DBPipeline, DBVersion
from chariots.pipelines import OpState
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
            .order_by(DBVersion.creation_time, DBVersion.id)
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
    op = find_op(session, op_name)
    if op is None:
        return []
    rows = _valid_rows(version_rows(session, op_name), op_name)
    links: Dict[int, List[Tuple[str, DBLineageLink]]] = {row.id: [] for row in rows}
    if rows:
        query = (
            select(DBOp.name, DBLineageLink)
            .join(DBOp, DBLineageLink.upstream_op_id == DBOp.id)
            .where(DBLineageLink.version_id.in_(list(links)))
            .order_by(DBLineageLink.id)
        )
        for upstream_name, link in session.execute(query):
            links[link.version_id].append((upstream_name, link))
    states = []
    for row in rows:
        trained_on: Dict[str, Version] = {}
        explicit: Dict[str, List[Version]] = {}
        for upstream_name, link in links[row.id]:
            if link.explicit:
                explicit.setdefault(upstream_name, []).append(link.to_version())
            else:
                trained_on[upstream_name] = link.to_version()
        states.append(
            OpState(
                version=row.to_version(),
                class_path=op.class_path,
                class_major=row.class_major,
                lineage=trained_on,
                links=explicit,
                saved_by=row.saved_by,
                saved_at=row.saved_at,
            )
        )
    return states


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
