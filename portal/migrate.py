"""Schema management with Alembic: upgrade to head, and check that a database is current."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from portal.config import RESOURCES
from portal.db import Database

MIGRATIONS = RESOURCES / "migrations"


def alembic_config(database: Database) -> Config:
    """An Alembic configuration bound to ``database``'s engine (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = database.engine
    return config


def upgrade(database: Database) -> str | None:
    """Create or upgrade the schema to the newest migration; return the revision it had
    before (None: the database was empty)."""
    before = current_revision(database)
    command.upgrade(alembic_config(database), "head")
    return before


def upgrade_recorded(database: Database) -> tuple[str | None, str]:
    """``upgrade``, recording an upgrade of existing data in the audit trail (which seals
    the chain's head at the new revision); the revisions before and after."""
    from portal.services import audit

    before = upgrade(database)
    after = head_revision(database)
    if before is not None and before != after:
        with database.session() as session:
            audit.record(session, "schema_upgrade", detail={"from": before, "to": after})
    return before, after


def head_revision(database: Database) -> str:
    """The newest migration's revision."""
    return ScriptDirectory.from_config(alembic_config(database)).get_current_head()


def current_revision(database: Database) -> str | None:
    """The database's revision (None before the first migration)."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(database: Database) -> bool:
    """True when the database is at the newest migration."""
    return current_revision(database) == head_revision(database)
