"""A saved version (state) of an op; its bytes are in the saver."""

from __future__ import annotations

from typing import Any, Dict, Optional

from sqlalchemy import JSON, Double, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chariots.op_store.models._base import Base
from chariots.versioning import Version


class DBVersion(Base):
    """One saved version of an op. A row exists only once the op's bytes are in the saver.

    ``class_major`` is the major of the op's class version when it was saved (the code it
    needs), ``saved_by`` the pipeline whose save committed it, ``upstream`` the upstream graph its
    training ran behind (JSON; None for states stored before graphs were recorded). The row's
    ``id`` is the store's commit order: "newest" means the highest id, never a host's clock.
    """

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("op_id", "major", "minor", "patch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    op_id: Mapped[int] = mapped_column(ForeignKey("ops.id", ondelete="CASCADE"))
    major: Mapped[str] = mapped_column(String(40))
    minor: Mapped[str] = mapped_column(String(40))
    patch: Mapped[str] = mapped_column(String(40))
    creation_time: Mapped[float] = mapped_column(Double)
    saved_at: Mapped[float] = mapped_column(Double)
    class_major: Mapped[Optional[str]] = mapped_column(String(40), nullable=True)
    saved_by: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    upstream: Mapped[Optional[Dict[str, Any]]] = mapped_column(JSON, nullable=True)

    def to_version(self) -> Version:
        """The :class:`~chariots.versioning.Version` this row stands for."""
        return Version(self.major, self.minor, self.patch, creation_time=self.creation_time)

    def __repr__(self) -> str:
        return f"<DBVersion op={self.op_id} {self.major[:5]}.{self.minor[:5]}.{self.patch[:5]}>"
