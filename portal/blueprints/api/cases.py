"""API: persons check, cases, phases."""

from __future__ import annotations
