"""The op store's database operations, on a SQLAlchemy session, free of any HTTP concern."""

from __future__ import annotations

import time
from typing import Callable, List, Optional, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chariots.op_store.models import DBOp, DBPipeline, DBValidatedLink, DBVersion
from chariots.versioning import Version

_T = TypeVar("_T")
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


def ensure_op(session: Session, op_name: str) -> DBOp:
    """The op of that name, added (and flushed) when missing."""
    op = find_op(session, op_name)
    if op is None:
        op = DBOp(name=op_name)
        session.add(op)
        session.flush()
    return op


def _same_hashes(model, version: Version):
    return (model.major == version.major) & (model.minor == version.minor) & (model.patch == version.patch)


def versions_of_op(session: Session, op_name: str) -> List[Version]:
    """Every saved version of an op, oldest first (empty for an unknown op)."""
    rows = session.scalars(
        select(DBVersion)
        .join(DBOp, DBVersion.op_id == DBOp.id)
        .where(DBOp.name == op_name)
        .order_by(DBVersion.creation_time, DBVersion.id)
    )
    return [row.to_version() for row in rows]


def find_version(session: Session, op: DBOp, version: Version) -> Optional[DBVersion]:
    """The row of that version (same three hashes) of an op, or None."""
    return session.scalar(select(DBVersion).where(DBVersion.op_id == op.id, _same_hashes(DBVersion, version)))


def ensure_version(session: Session, op_name: str, version: Version) -> bool:
    """Adds a version of an op unless it is there; its bytes must already be in the saver.

    A version saved again keeps its first creation time.

    :returns: whether the version was added
    """
    op = ensure_op(session, op_name)
    if find_version(session, op, version) is not None:
        return False
    session.add(
        DBVersion(
            op_id=op.id,
            major=version.major,
            minor=version.minor,
            patch=version.patch,
            creation_time=version.creation_time,
            saved_at=time.time(),
        )
    )
    session.flush()
    return True


def ensure_link(session: Session, downstream_op: str, upstream_op: str, upstream_version: Version) -> bool:
    """Records that ``downstream_op`` was validated with ``upstream_version`` of ``upstream_op``.

    :returns: whether the link was added
    """
    downstream = ensure_op(session, downstream_op)
    upstream = ensure_op(session, upstream_op)
    exists = session.scalar(
        select(DBValidatedLink.id).where(
            DBValidatedLink.downstream_op_id == downstream.id,
            DBValidatedLink.upstream_op_id == upstream.id,
            _same_hashes(DBValidatedLink, upstream_version),
        )
    )
    if exists is not None:
        return False
    session.add(
        DBValidatedLink(
            downstream_op_id=downstream.id,
            upstream_op_id=upstream.id,
            major=upstream_version.major,
            minor=upstream_version.minor,
            patch=upstream_version.patch,
            creation_time=upstream_version.creation_time,
        )
    )
    session.flush()
    return True


def validated_links(session: Session, downstream_op: str, upstream_op: str) -> List[Version]:
    """The upstream versions validated for a (downstream, upstream) pair, oldest first."""
    downstream = find_op(session, downstream_op)
    upstream = find_op(session, upstream_op)
    if downstream is None or upstream is None:
        return []
    rows = session.scalars(
        select(DBValidatedLink)
        .where(
            DBValidatedLink.downstream_op_id == downstream.id,
            DBValidatedLink.upstream_op_id == upstream.id,
        )
        .order_by(DBValidatedLink.creation_time, DBValidatedLink.id)
    )
    return [row.to_version() for row in rows]


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
