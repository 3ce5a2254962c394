"""audit_events: addresses hashed by digest, so that they can be removed after 90 days

New events' hashes cover ``ip_digest`` (a keyed digest of the address) instead of the
address (``hash_version`` 2), so that pruning the address keeps the chain verifiable.
Existing events keep version 1 until ``audit.reseal`` (run before the first pruning, with
the audit key, which migrations do not hold) verifies and re-seals them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 02:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ip_digest", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("hash_version", sa.Integer(), server_default="1", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("hash_version")
        batch_op.drop_column("ip_digest")
