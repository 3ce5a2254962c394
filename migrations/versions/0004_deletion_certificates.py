"""deletion certificates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:09:09.669467
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deletion_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('retention', 'erasure_request')",
            name=op.f("ck_deletion_certificates_reason"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deletion_certificates")),
    )


def downgrade() -> None:
    op.drop_table("deletion_certificates")
