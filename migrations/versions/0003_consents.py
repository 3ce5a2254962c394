"""consents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:07:03.870022
"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("form_blob_sha256", sa.String(length=64), nullable=True),
        sa.Column("form_filename", sa.String(length=255), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revocation_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_consents_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["form_blob_sha256"], ["blobs.sha256"], name=op.f("fk_consents_form_blob_sha256_blobs")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_consents_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_consents_revoked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_case_id"), ["case_id"], unique=False)

    op.create_table(
        "consent_organisations",
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.id"],
            name=op.f("fk_consent_organisations_consent_id_consents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_consent_organisations_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint(
            "consent_id", "organisation_id", name=op.f("pk_consent_organisations")
        ),
    )
    with op.batch_alter_table("consent_organisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_organisations_organisation_id"),
            ["organisation_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_organisations_organisation_id"))

    op.drop_table("consent_organisations")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_case_id"))

    op.drop_table("consents")
