"""users: the network administrator role

An organisation's administrator (``admin``) now manages the accounts of that
organisation only; a network administrator (``network_admin``) manages every account and
organisation. Existing administrators stay organisation administrators: an operator makes
a network administrator with ``portal create-user … --role network_admin``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 03:00:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ROLES = ("network_admin", "admin", "coordinator", "caseworker", "readonly")
OLD_ROLES = ("admin", "coordinator", "caseworker", "readonly")


def _roles(roles: tuple[str, ...]) -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint("role", f"role IN {roles!r}")


def upgrade() -> None:
    _roles(ROLES)


def downgrade() -> None:
    op.execute("UPDATE users SET role = 'admin' WHERE role = 'network_admin'")
    _roles(OLD_ROLES)
