"""The coordinators' dashboard page and its CSV export, through the real HTTP layer."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Case, FollowUp, Person, User
from portal.models.base import local_today
from tests.unit.test_statistics import network  # noqa: F401  (the hand-made network fixture)


def _forbidden_words(db) -> list[str]:
    """Names of persons and users (other than the coordinator) and case references."""
    words = [p.given_name for p in db.scalars(select(Person))]
    words += [p.family_name for p in db.scalars(select(Person))]
    words += [c.reference for c in db.scalars(select(Case))]
    words += [u.name for u in db.scalars(select(User).where(User.role != "coordinator"))]
    words += [u.email for u in db.scalars(select(User))]
    return words


def _csv_rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_coordinator_sees_charts_with_titles_and_tables_and_no_names(
    client,
    auth,
    db,
    network,  # noqa: F811
):
    auth.login(network.coordinator.email)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.text
    svgs = re.findall(r"<svg [^>]*>.*?</svg>", html, flags=re.S)
    assert len(svgs) == 8
    for svg in svgs:
        assert 'role="img"' in svg
        labelled = re.search(r'aria-labelledby="([^"]+)"', svg).group(1)
        assert f'<title id="{labelled}">' in svg
    assert html.count("<table") == 8
    assert "Fälle je Phase" in html
    assert "Laufende Fälle je federführender Organisation" in html
    lead = html[html.index('id="lead-heading"') : html.index('id="new-heading"')]
    assert re.search(r'Caritas Gütersloh</th>\s*<td class="num">2</td>', lead)
    assert "/dashboard/export.csv" in html
    assert "&lt;5" in html  # the note on suppressed small groups
    assert "style=" not in html
    for word in _forbidden_words(db):
        assert word not in html, word


@pytest.mark.parametrize("role", ["caseworker", "admin", "readonly"])
def test_other_roles_are_refused(client, auth, make_user, role):
    user = make_user(role=role)
    auth.login(user.email)
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/dashboard/export.csv").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login(client):
    for url in ("/dashboard/", "/dashboard/export.csv"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_csv_export_is_german_anonymous_suppressed_and_audited(
    client,
    auth,
    db,
    network,  # noqa: F811
):
    auth.login(network.coordinator.email)
    response = client.get("/dashboard/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv_rows(response)
    assert rows[0] == ["Tabelle", "Kategorie", "Wert"]
    values = {(table, category): value for table, category, value in rows[1:]}
    # Every group is small: each shows as "<5", or its table is withheld whole ("x")
    # where the table's total would reveal it (see test_statistics for the rule).
    assert values[("Fälle je Phase", "Erstberatung")] in ("<5", "x")
    assert values[("Fälle je Phase", "Monitoring")] in ("0", "x")
    caritas = ("Laufende Fälle je federführender Organisation", "Caritas Gütersloh")
    assert values[caritas] in ("<5", "x")
    assert values[("Verweildauer je Phase (Median in Tagen)", "Erstberatung")] == "x"
    assert all(value in ("0", "<5", "x", "") for _t, _c, value in rows[1:]), "all are small"
    text = response.get_data(as_text=True)
    for word in _forbidden_words(db):
        assert word not in text, word
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert (event.object_type, event.user_id) == ("statistics", network.coordinator.id)


def test_csv_cells_cannot_carry_formulas(client, auth, db, make_org, network):  # noqa: F811
    evil = make_org(name='=HYPERLINK("http://x";"klick")')
    case_id = db.scalar(select(Case.id).where(Case.phase == "erstberatung"))
    for _ in range(6):
        db.add(
            FollowUp(
                case_id=case_id, due_on=local_today() - timedelta(days=2),
                assignee_organisation_id=evil.id,
            )
        )  # fmt: skip
    db.commit()
    auth.login(network.coordinator.email)
    rows = _csv_rows(client.get("/dashboard/export.csv"))
    overdue = [row for row in rows if row[0] == "Überfällige Wiedervorlagen je Organisation"]
    (row,) = [row for row in overdue if row[1] == "'" + evil.name]
    assert row[2] in ("6", "x")  # withheld where the small groups beside it need it
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
