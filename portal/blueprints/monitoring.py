"""Monitoring an integration agreement: goal status over time, overdue goals."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("monitoring", __name__)
