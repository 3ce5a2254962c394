"""The coordinators' dashboard: the network's anonymous numbers, charts and CSV."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
