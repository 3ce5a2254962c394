"""consents: the day a consent was recorded

``recorded_on`` is the calendar day in Germany when the consent was recorded. A consent
whose first day lies after it was recorded to start later: the search index gives it an
access token of its own, while consents in force from their recording share one token
per organisation (``access.document_search_tokens``). Existing rows get the day of
their ``recorded_at``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 23:40:00
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# As portal.models.base.LOCAL_TIMEZONE on this day (a migration keeps its own copy).
LOCAL_TIMEZONE = ZoneInfo("Europe/Berlin")

consents = sa.table(
    "consents",
    sa.column("id", sa.Integer),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
    sa.column("recorded_on", sa.Date),
)


def _local_day(moment) -> datetime:
    if isinstance(moment, str):  # SQLite hands back the stored text
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TIMEZONE).date()


def upgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_on", sa.Date(), nullable=True))
    connection = op.get_bind()
    for consent_id, recorded_at in connection.execute(
        sa.select(consents.c.id, consents.c.recorded_at)
    ).all():
        connection.execute(
            consents.update()
            .where(consents.c.id == consent_id)
            .values(recorded_on=_local_day(recorded_at))
        )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.alter_column("recorded_on", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("recorded_on")
