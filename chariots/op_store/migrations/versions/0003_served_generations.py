"""Served generations and staged trainings: what every serving process of a pipeline shares.

A ``load`` records the versions that passed the compatibility check as the pipeline's next
generation; every server process follows the newest one. A training run stages its states
(bytes uploaded, records kept here) so that a save in any process commits the newest training.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "served_generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pipeline_name", sa.String(length=255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_served_generations"),
        sa.UniqueConstraint("pipeline_name", "number", name="uq_served_generations_pipeline"),
    )
    op.create_index("ix_served_generations_pipeline_name", "served_generations", ["pipeline_name"])
    op.create_table(
        "staged_trainings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pipeline_name", sa.String(length=255), nullable=False),
        sa.Column("node_names", sa.JSON(), nullable=False),
        sa.Column("states", sa.JSON(), nullable=False),
        sa.Column("staged_at", sa.Double(), nullable=False),
        sa.Column("committed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staged_trainings"),
    )
    op.create_index("ix_staged_trainings_pipeline_name", "staged_trainings", ["pipeline_name"])


def downgrade() -> None:
    op.drop_index("ix_staged_trainings_pipeline_name", table_name="staged_trainings")
    op.drop_table("staged_trainings")
    op.drop_index("ix_served_generations_pipeline_name", table_name="served_generations")
    op.drop_table("served_generations")
