"""search text of forms without codes and dates

The text search sees of an assessment or agreement (``extracted_text``) used to list
every stored value, goal statuses and dates included ("2026-11-30 done"), which showed
in snippets. It now holds the words people wrote only (``document_fields.NOT_WORDS``
leaves out status, due and signing dates, organisation ids). This recomputes that part
of existing versions; a signed scan's own text after it is kept. The search index is
derived: ``portal reindex`` (or a new index directory) takes the new text.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 20:30:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# As document_fields.NOT_WORDS on this day (a migration keeps its own copy of a rule).
NOT_WORDS = frozenset({"status", "due_date", "signed_on", "responsible_organisation_id"})

versions = sa.table(
    "document_versions",
    sa.column("id", sa.Integer),
    sa.column("fields", sa.JSON),
    sa.column("extracted_text", sa.Text),
)


def _text(fields, skip: frozenset) -> str:
    lines: list[str] = []

    def walk(value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key not in skip:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value:
            lines.append(value)

    walk(fields)
    return "\n".join(lines)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(versions.c.id, versions.c.fields, versions.c.extracted_text).where(
            versions.c.fields.is_not(None)
        )
    ).all()
    for version_id, fields, extracted in rows:
        if isinstance(fields, str):
            fields = json.loads(fields)
        if not fields or not extracted:
            continue
        old, new = _text(fields, frozenset()), _text(fields, NOT_WORDS)
        if old != new and extracted.startswith(old):
            connection.execute(
                versions.update()
                .where(versions.c.id == version_id)
                .values(extracted_text=new + extracted[len(old) :])
            )


def downgrade() -> None:
    """Nothing to undo: the old text had only more values in it."""
