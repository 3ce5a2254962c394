"""documents and consents: data categories, as names and as bits

A document touches data categories (``documents.data_categories``, and as bits
``category_bits``); a consent releases some (``consents.released_bits``: the recorded
ones, or every one but ``gesundheit`` when none were recorded). A partner reads another
organisation's document only under a consent in force that releases each of its
categories.

Existing documents get categories by rule, erring towards hiding rather than showing:
an assessment those of the sections any of its versions filled in; a note, file or
agreement every focus area of its case that is a data category (a note in a case about
health and housing counts as touching both until its writer says otherwise).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:30:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As portal.models.categories and document_fields.ASSESSMENT_SECTIONS on this day (a
# migration keeps its own copy: it must do the same whatever the code does later).
DATA_CATEGORIES = (
    "sprache", "arbeit", "bildung", "wohnen", "gesundheit", "aufenthalt", "familie", "finanzen",
)  # fmt: skip
SECTIONS = {
    "languages": "sprache",
    "education": "bildung",
    "work_experience": "arbeit",
    "residence_status": "aufenthalt",
    "housing": "wohnen",
    "health": "gesundheit",
    "family": "familie",
}

documents = sa.table(
    "documents",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("type", sa.String),
    sa.column("data_categories", sa.JSON),
    sa.column("category_bits", sa.Integer),
)
versions = sa.table(
    "document_versions", sa.column("document_id", sa.Integer), sa.column("fields", sa.JSON)
)
cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("focus_areas", sa.JSON))
consents = sa.table(
    "consents",
    sa.column("id", sa.Integer),
    sa.column("data_categories", sa.JSON),
    sa.column("released_bits", sa.Integer),
)


def _loaded(value):
    return json.loads(value) if isinstance(value, str) else value or type(value)()


def _ordered(names) -> list[str]:
    return [c for c in DATA_CATEGORIES if c in set(names)]


def _bits(names) -> int:
    return sum(1 << i for i, c in enumerate(DATA_CATEGORIES) if c in set(names))


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_categories", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("category_bits", sa.Integer(), nullable=True))
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("released_bits", sa.Integer(), nullable=True))
    connection = op.get_bind()
    for consent_id, recorded in connection.execute(
        sa.select(consents.c.id, consents.c.data_categories)
    ).all():
        released = _loaded(recorded) or [c for c in DATA_CATEGORIES if c != "gesundheit"]
        connection.execute(
            consents.update()
            .where(consents.c.id == consent_id)
            .values(released_bits=_bits(released))
        )
    focus = {
        case_id: set(_loaded(areas))
        for case_id, areas in connection.execute(sa.select(cases.c.id, cases.c.focus_areas))
    }
    sections: dict[int, set[str]] = {}
    for document_id, fields in connection.execute(
        sa.select(versions.c.document_id, versions.c.fields)
        .join(documents, documents.c.id == versions.c.document_id)
        .where(documents.c.type == "assessment")
    ):
        filled = {SECTIONS[name] for name, value in _loaded(fields).items()
                  if name in SECTIONS and value}  # fmt: skip
        sections.setdefault(document_id, set()).update(filled)
    for document_id, case_id, doc_type in connection.execute(
        sa.select(documents.c.id, documents.c.case_id, documents.c.type)
    ).all():
        touched = sections.get(document_id, set()) if doc_type == "assessment" else focus[case_id]
        names = _ordered(touched)
        connection.execute(
            documents.update()
            .where(documents.c.id == document_id)
            .values(data_categories=names, category_bits=_bits(names))
        )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column("data_categories", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("category_bits", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.alter_column("released_bits", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("released_bits")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("category_bits")
        batch_op.drop_column("data_categories")
