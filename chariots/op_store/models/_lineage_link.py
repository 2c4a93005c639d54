"""A validated link: a downstream op was trained on (validated with) a version of an upstream op."""

from __future__ import annotations

from sqlalchemy import Double, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chariots.op_store.models._base import Base
from chariots.versioning import Version


class DBValidatedLink(Base):
    """Records that ``downstream_op`` may run on that version of ``upstream_op``."""

    __tablename__ = "validated_links"
    __table_args__ = (
        UniqueConstraint(
            "downstream_op_id", "upstream_op_id", "major", "minor", "patch", name="uq_validated_links_version"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    downstream_op_id: Mapped[int] = mapped_column(ForeignKey("ops.id", ondelete="CASCADE"))
    upstream_op_id: Mapped[int] = mapped_column(ForeignKey("ops.id", ondelete="CASCADE"))
    major: Mapped[str] = mapped_column(String(40))
    minor: Mapped[str] = mapped_column(String(40))
    patch: Mapped[str] = mapped_column(String(40))
    creation_time: Mapped[float] = mapped_column(Double)

    def to_version(self) -> Version:
        """The upstream :class:`~chariots.versioning.Version` this link validates."""
        return Version(self.major, self.minor, self.patch, creation_time=self.creation_time)
