"""audit_chain_head: a keyed seal of the head (length and newest hash)

Without the audit key nobody can move the head back over deleted events. The existing
head is sealed by the next event recorded (the portal records one at once: migrations do
not hold the key); until then ``portal audit-verify`` reports the head as unsealed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("seal", sa.String(length=64), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.drop_column("seal")
