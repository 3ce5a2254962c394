"""Printing: agreements, case summaries and document versions as PDF, and the signed scan."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("printing", __name__)
