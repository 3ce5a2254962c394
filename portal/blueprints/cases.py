"""Case pages: the case list, opening a case, the case folder, phase changes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/cases")
