"""When signing was enabled: the store records the time and the last version row written before,
so that ``chariots sign-store`` signs only what an unsigning release wrote, never a state uploaded
later without the key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "signing_enabled",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled_at", sa.Double(), nullable=False),
        sa.Column("last_version_before", sa.Integer(), nullable=True),
        sa.Column("signed_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_signing_enabled"),
    )
    last = op.get_bind().execute(sa.text("SELECT MAX(id) FROM versions")).scalar()
    op.bulk_insert(table, [{"id": 1, "enabled_at": time.time(), "last_version_before": last, "signed_at": None}])


def downgrade() -> None:
    op.drop_table("signing_enabled")
