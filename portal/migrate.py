"""Schema management with Alembic: upgrade to head, and check that a database is current."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from portal.config import ROOT
from portal.db import Database

MIGRATIONS = ROOT / "migrations"


def alembic_config(database: Database) -> Config:
    """An Alembic configuration bound to ``database``'s engine (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = database.engine
    return config


def upgrade(database: Database) -> None:
    """Create or upgrade the schema to the newest migration."""
    command.upgrade(alembic_config(database), "head")


def is_current(database: Database) -> bool:
    """True when the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(database)).get_current_head()
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
