"""Document pages: writing, versions, diff, restore, conflicts, uploads and downloads."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("documents", __name__)
