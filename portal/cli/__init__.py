"""The ``portal`` command line (see shared API.md). User errors: a message, exit 1, no traceback.

``app`` runs a command inside the application with a checked database; the commands are
in ``accounts`` (organisations, users, tokens, demo data) and ``maintenance`` (schema,
index, retention, audit chain, consistency, serving) and ``backups``.
"""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """KIM Portal – Kommunales Integrationsmanagement."""


from portal.cli import accounts, backups, maintenance  # noqa: E402,F401  (commands)
