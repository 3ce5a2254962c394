"""The coordinators' dashboard: the network's anonymous numbers, charts and CSV."""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_babel import force_locale
from flask_login import current_user, login_required

from portal.db import db_session
from portal.downloads import content_disposition
from portal.http import requester
from portal.models.base import local_today
from portal.presentation import statistics as shown
from portal.services import statistics

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here needs a logged-in user; the policy then asks for coordinators."""


@bp.get("/")
def index():
    """Charts and tables of the network's numbers (exact: coordinators see all metadata)."""
    today = local_today()
    tables = statistics.network_tables(db_session(), current_user, today)
    return render_template(
        "dashboard/index.html", tables=tables, today=today, chart=shown.chart,
        number=shown.number, row_label=shown.row_label,
    )  # fmt: skip


@bp.get("/export.csv")
def export_csv():
    """The same numbers as German CSV for reporting, small groups hidden; the export is audited."""
    today = local_today()
    tables = statistics.export_tables(db_session(), requester(), today)
    with force_locale("de"):  # the report to the Land is German
        body = shown.csv_text(tables)
    response = Response(body.encode("utf-8"), mimetype="text/csv")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = content_disposition(
        "attachment", f"kim-statistik-{today.isoformat()}.csv"
    )
    return response
