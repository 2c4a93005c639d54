"""What the serving processes of a pipeline share through the store: served generations and
staged trainings."""

from __future__ import annotations

from typing import Any, Dict, List

from sqlalchemy import JSON, Boolean, Double, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chariots.op_store.models._base import Base


class DBServedGeneration(Base):
    """One successful ``load`` of a pipeline: the versions that passed the check, numbered.

    ``versions`` maps each op name to the string of the version every serving process must
    hold; ``number`` increases by one for each load of the pipeline.
    """

    __tablename__ = "served_generations"
    __table_args__ = (UniqueConstraint("pipeline_name", "number", name="uq_served_generations_pipeline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_name: Mapped[str] = mapped_column(String(255), index=True)
    number: Mapped[int] = mapped_column(Integer)
    versions: Mapped[Dict[str, str]] = mapped_column(JSON)
    recorded_at: Mapped[float] = mapped_column(Double)

    def __repr__(self) -> str:
        return f"<DBServedGeneration {self.pipeline_name} #{self.number}>"


class DBStagedTraining(Base):
    """The states a training run of a pipeline produced, uploaded but not yet saved.

    A save of the pipeline, in whichever process, commits the newest one (``states`` holds
    the records a save commits, as JSON).
    """

    __tablename__ = "staged_trainings"

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_name: Mapped[str] = mapped_column(String(255), index=True)
    node_names: Mapped[List[str]] = mapped_column(JSON)
    states: Mapped[List[Dict[str, Any]]] = mapped_column(JSON)
    staged_at: Mapped[float] = mapped_column(Double)
    committed: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<DBStagedTraining {self.pipeline_name} #{self.id}>"
