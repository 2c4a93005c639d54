"""Upstream graphs: the whole computation each state was trained behind, kept with the state.

A state's ``upstream`` is the graph of its upstream ops as its training ran them (each node by
place, class path, op name, kind and major; see ``chariots.pipelines._lineage``). States stored
before have none and are checked by their lineage links alone.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("upstream", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("upstream")
