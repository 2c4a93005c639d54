"""A pipeline registered or saved in the store."""

from __future__ import annotations

from typing import List

from sqlalchemy import JSON, Double, String
from sqlalchemy.orm import Mapped, mapped_column

from chariots.op_store.models._base import Base


class DBPipeline(Base):
    """A pipeline the store has seen, with the names of its nodes when it was last recorded."""

    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    node_names: Mapped[List[str]] = mapped_column(JSON)
    registered_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)

    def __repr__(self) -> str:
        return f"<DBPipeline {self.name}>"
