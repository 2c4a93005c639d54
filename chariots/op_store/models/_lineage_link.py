"""A lineage link: a saved state of an op may run behind a version of an upstream op."""

from __future__ import annotations

from sqlalchemy import Boolean, Double, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chariots.op_store.models._base import Base
from chariots.versioning import Version


class DBLineageLink(Base):
    """Records that the state ``version_id`` was trained (or explicitly validated, when
    ``explicit``) behind that version of ``upstream_op``."""

    __tablename__ = "lineage_links"
    __table_args__ = (
        UniqueConstraint("version_id", "upstream_op_id", "major", "minor", "patch", name="uq_lineage_links_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    upstream_op_id: Mapped[int] = mapped_column(ForeignKey("ops.id", ondelete="CASCADE"))
    major: Mapped[str] = mapped_column(String(40))
    minor: Mapped[str] = mapped_column(String(40))
    patch: Mapped[str] = mapped_column(String(40))
    creation_time: Mapped[float] = mapped_column(Double)
    explicit: Mapped[bool] = mapped_column(Boolean, default=False)

    def to_version(self) -> Version:
        """The upstream :class:`~chariots.versioning.Version` this link names."""
        return Version(self.major, self.minor, self.patch, creation_time=self.creation_time)
