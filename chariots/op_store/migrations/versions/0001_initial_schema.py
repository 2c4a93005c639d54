"""Initial op store schema: ops, versions, validated links and pipelines.

Revision ID: 0001
Revises:
Create Date: 2024-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _version_columns() -> list:
    return [
        sa.Column("major", sa.String(length=40), nullable=False),
        sa.Column("minor", sa.String(length=40), nullable=False),
        sa.Column("patch", sa.String(length=40), nullable=False),
        sa.Column("creation_time", sa.Double(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "ops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ops"),
        sa.UniqueConstraint("name", name="uq_ops_name"),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("op_id", sa.Integer(), nullable=False),
        *_version_columns(),
        sa.Column("saved_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["op_id"], ["ops.id"], name="fk_versions_op_id_ops", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_versions"),
        sa.UniqueConstraint("op_id", "major", "minor", "patch", name="uq_versions_op_id_major_minor_patch"),
    )
    op.create_table(
        "validated_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("downstream_op_id", sa.Integer(), nullable=False),
        sa.Column("upstream_op_id", sa.Integer(), nullable=False),
        *_version_columns(),
        sa.ForeignKeyConstraint(
            ["downstream_op_id"],
            ["ops.id"],
            name="fk_validated_links_downstream_op_id_ops",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upstream_op_id"], ["ops.id"], name="fk_validated_links_upstream_op_id_ops", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_validated_links"),
        sa.UniqueConstraint(
            "downstream_op_id",
            "upstream_op_id",
            "major",
            "minor",
            "patch",
            name="uq_validated_links_version",
        ),
    )
    op.create_table(
        "pipelines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("node_names", sa.JSON(), nullable=False),
        sa.Column("registered_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipelines"),
        sa.UniqueConstraint("name", name="uq_pipelines_name"),
    )


def downgrade() -> None:
    op.drop_table("pipelines")
    op.drop_table("validated_links")
    op.drop_table("versions")
    op.drop_table("ops")
