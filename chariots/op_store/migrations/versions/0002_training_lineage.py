"""Training lineage: links keyed by the downstream op's saved version; class identity of ops.

Validated links used to be keyed by (downstream op name, upstream op name): any link ever
recorded validated every later version of the downstream op. Links now belong to one saved
version (state) of the downstream op. Existing links are carried over, as explicit links, to
every version their downstream op had, so an upgraded store serves what it served before.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ops") as batch:
        batch.add_column(sa.Column("class_path", sa.String(length=500), nullable=True))
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("class_major", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("saved_by", sa.String(length=255), nullable=True))
    op.create_table(
        "lineage_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("upstream_op_id", sa.Integer(), nullable=False),
        sa.Column("major", sa.String(length=40), nullable=False),
        sa.Column("minor", sa.String(length=40), nullable=False),
        sa.Column("patch", sa.String(length=40), nullable=False),
        sa.Column("creation_time", sa.Double(), nullable=False),
        sa.Column("explicit", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name="fk_lineage_links_version_id_versions", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["upstream_op_id"], ["ops.id"], name="fk_lineage_links_upstream_op_id_ops", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_links"),
        sa.UniqueConstraint(
            "version_id", "upstream_op_id", "major", "minor", "patch", name="uq_lineage_links_version"
        ),
    )
    op.create_index("ix_lineage_links_version_id", "lineage_links", ["version_id"])
    op.execute(
        """
        INSERT INTO lineage_links (version_id, upstream_op_id, major, minor, patch, creation_time, explicit)
        SELECT versions.id, validated_links.upstream_op_id, validated_links.major, validated_links.minor,
               validated_links.patch, validated_links.creation_time, TRUE
        FROM validated_links JOIN versions ON versions.op_id = validated_links.downstream_op_id
        """
    )
    op.drop_table("validated_links")


def downgrade() -> None:
    op.create_table(
        "validated_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("downstream_op_id", sa.Integer(), nullable=False),
        sa.Column("upstream_op_id", sa.Integer(), nullable=False),
        sa.Column("major", sa.String(length=40), nullable=False),
        sa.Column("minor", sa.String(length=40), nullable=False),
        sa.Column("patch", sa.String(length=40), nullable=False),
        sa.Column("creation_time", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["downstream_op_id"], ["ops.id"], name="fk_validated_links_downstream_op_id_ops", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["upstream_op_id"], ["ops.id"], name="fk_validated_links_upstream_op_id_ops", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_validated_links"),
        sa.UniqueConstraint(
            "downstream_op_id", "upstream_op_id", "major", "minor", "patch", name="uq_validated_links_version"
        ),
    )
    op.execute(
        """
        INSERT INTO validated_links (downstream_op_id, upstream_op_id, major, minor, patch, creation_time)
        SELECT DISTINCT versions.op_id, lineage_links.upstream_op_id, lineage_links.major, lineage_links.minor,
               lineage_links.patch, MIN(lineage_links.creation_time)
        FROM lineage_links JOIN versions ON versions.id = lineage_links.version_id
        GROUP BY versions.op_id, lineage_links.upstream_op_id, lineage_links.major, lineage_links.minor,
                 lineage_links.patch
        """
    )
    op.drop_index("ix_lineage_links_version_id", table_name="lineage_links")
    op.drop_table("lineage_links")
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("saved_by")
        batch.drop_column("class_major")
    with op.batch_alter_table("ops") as batch:
        batch.drop_column("class_path")
