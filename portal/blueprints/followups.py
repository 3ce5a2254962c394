"""Follow-ups (Wiedervorlagen): dated tasks on a case, and "Meine Wiedervorlagen"."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("followups", __name__)
