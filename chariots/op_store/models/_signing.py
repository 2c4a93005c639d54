"""When the store began taking signed states only, recorded once by migration 0005."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Double, Integer
from sqlalchemy.orm import Mapped, mapped_column

from chariots.op_store.models._base import Base


class DBSigningEnabled(Base):
    """The moment signing was enabled on this store: its time, and the last version row written
    before it (None: none was). ``chariots sign-store`` signs only states of rows up to that one:
    a state recorded later carries no signature only if someone without the key wrote it. Once a
    sign-store run signed the store (``signed_at``), it signs nothing more: bytes without a
    signature found later were written since, without the key."""

    __tablename__ = "signing_enabled"

    id: Mapped[int] = mapped_column(primary_key=True)
    enabled_at: Mapped[float] = mapped_column(Double)
    last_version_before: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    signed_at: Mapped[Optional[float]] = mapped_column(Double, nullable=True)

    def __repr__(self) -> str:
        return f"<DBSigningEnabled at {self.enabled_at} after version row {self.last_version_before}>"
