"""API: integration agreements (signed scans)."""

from __future__ import annotations

from portal.blueprints.api import bp  # noqa: F401
