"""The network's aggregates on a small hand-made network, and the CSV's small-group rule."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import delete

from portal.models import PHASES, Case, FollowUp, Organisation, User
from portal.models.base import LOCAL_TIMEZONE, local_today, utcnow
from portal.models.case import PhaseChange
from portal.presentation import statistics as charts
from portal.services import cases, documents, statistics
from portal.services.documents import Content
from portal.services.errors import AccessDenied
from portal.services.statistics.tables import Row, Table, published_values


@dataclass
class Network:
    """Two organisations, their caseworkers, a coordinator, four cases and what is expected."""

    stadt: Organisation
    caritas: Organisation
    coordinator: User
    expected_monitoring_days: float


def month_base(months_back: int) -> datetime:
    """Noon (local) on the first day of the month ``months_back`` before this one, in UTC."""
    first = statistics.month_starts(local_today(), months_back + 1)[0]
    return datetime(first.year, first.month, 1, 12, tzinfo=LOCAL_TIMEZONE).astimezone(UTC)


def set_history(db, case: Case, steps: list[tuple[str, datetime]]) -> None:
    """Replace the case's phase history by ``steps``; the case is created at the first."""
    db.execute(delete(PhaseChange).where(PhaseChange.case_id == case.id))
    previous = None
    for phase, at in steps:
        db.add(PhaseChange(case_id=case.id, from_phase=previous, to_phase=phase, at=at))
        previous = phase
    case.phase = previous
    case.created_at = steps[0][1]
    db.commit()


def open_case(db, actor: User, family: str, areas: list[str]) -> Case:
    """A case led by the actor's organisation, with the given focus areas."""
    person = {"given_name": "Amira", "family_name": family}
    case = cases.create_case(db, actor, person=person, focus_areas=areas, confirm_new_person=True)
    db.commit()
    return case


def agreement(db, save_ctx, actor: User, case: Case, *goal_versions: list[dict]) -> None:
    """An agreement whose versions carry the given goal lists (the last one is current)."""
    document = documents.create_document(
        db, actor, case, doc_type="agreement", title="Integrationsvereinbarung",
        content=Content(fields={"goals": goal_versions[0]}), ctx=save_ctx,
    )  # fmt: skip
    for goals in goal_versions[1:]:
        documents.add_version(
            db, actor, document, base_version=document.current_version,
            content=Content(fields={"goals": goals}), ctx=save_ctx,
        )  # fmt: skip
    db.commit()


def goal(text: str, org: Organisation | None, due: date, status: str = "open") -> dict:
    """One goal of an agreement."""
    return {
        "area": "Arbeit", "goal": text, "due_date": due.isoformat(), "status": status,
        "responsible_organisation_id": org.id if org else None,
    }  # fmt: skip


@pytest.fixture
def network(app, db, make_org, make_user, save_ctx) -> Network:
    """Four cases with phase histories, agreements and follow-ups; see the tests for the numbers."""
    stadt, caritas = make_org(name="Stadt Rietberg"), make_org(name="Caritas Gütersloh")
    worker, partner = make_user(org=stadt), make_user(org=caritas)
    coordinator = make_user(role="coordinator", org=make_org(name="Kreis Gütersloh", kind="kreis"))
    today = local_today()
    yesterday, past, later = today - timedelta(days=1), date(2001, 1, 1), today + timedelta(days=3)

    closed = open_case(db, worker, "Quraishi", ["sprache", "arbeit"])
    agreement(db, save_ctx, worker, closed, [goal("Im geschlossenen Fall", stadt, past)])
    b3, b1 = month_base(3), month_base(1)
    steps = [("erstberatung", b3), ("bestandsaufnahme", b3 + timedelta(days=10)),
             ("integrationsvereinbarung", b3 + timedelta(days=15)),
             ("monitoring", b3 + timedelta(days=19)),
             ("abgeschlossen", b1 + timedelta(days=5))]  # fmt: skip
    set_history(db, closed, steps)

    in_agreement = open_case(db, worker, "Tesfamariam", ["sprache"])
    agreement(
        db, save_ctx, worker, in_agreement,
        [goal("Nur in Fassung 1", stadt, past)],
        [goal("Bewerbung", caritas, yesterday), goal("Erledigt", caritas, past, "done"),
         goal("Sprachkurs", stadt, past, "in_progress"), goal("Ohne Träger", None, past),
         goal("Später", stadt, later), goal("Verworfen", stadt, past, "dropped")],
    )  # fmt: skip
    b2 = month_base(2)
    steps = [("erstberatung", b2), ("bestandsaufnahme", b2 + timedelta(days=20)),
             ("integrationsvereinbarung", b2 + timedelta(days=27))]  # fmt: skip
    set_history(db, in_agreement, steps)

    old = open_case(db, partner, "Kowalenko", ["wohnen"])
    b13 = month_base(13)
    set_history(db, old, [("erstberatung", b13), ("bestandsaufnahme", b13 + timedelta(days=30))])
    fresh = open_case(db, partner, "Nasrallah", [])

    followups = [(caritas, yesterday, None), (caritas, yesterday, utcnow()),
                 (stadt, today, None), (stadt, today - timedelta(days=10), None)]  # fmt: skip
    for org, due, done in followups:
        db.add(
            FollowUp(case_id=fresh.id, due_on=due, assignee_organisation_id=org.id, done_at=done)
        )
    db.commit()
    monitoring = (b1 + timedelta(days=5) - (b3 + timedelta(days=19))).total_seconds() / 86400
    return Network(stadt, caritas, coordinator, round(monitoring, 1))


def computed(app, db, user: User) -> dict[str, Table]:
    """The dashboard's tables for ``user``, by key (labels in the default language)."""
    with app.test_request_context():
        return {table.key: table for table in statistics.network_tables(db, user)}


def tables(app, db, network: Network) -> dict[str, dict[str, int | float | None]]:
    """The dashboard's tables as {table: {row key: value}}."""
    result = computed(app, db, network.coordinator)
    return {key: {row.key: row.value for row in table.rows} for key, table in result.items()}


def test_counts_per_phase_focus_and_lead_organisation(app, db, network):
    numbers = tables(app, db, network)
    assert numbers["phase"] == {
        "erstberatung": 1, "bestandsaufnahme": 1, "integrationsvereinbarung": 1,
        "monitoring": 0, "abgeschlossen": 1,
    }  # fmt: skip
    # Closed cases are not counted per focus area or lead organisation.
    assert numbers["focus"]["sprache"] == 1
    assert numbers["focus"]["arbeit"] == 0
    assert numbers["focus"]["wohnen"] == 1
    assert sum(numbers["focus"].values()) == 2
    assert list(numbers["lead"].items()) == [("Caritas Gütersloh", 2), ("Stadt Rietberg", 1)]


def test_new_and_closed_cases_per_month(app, db, network):
    numbers = tables(app, db, network)
    months = statistics.month_starts(local_today())
    keys = [m.isoformat()[:7] for m in months]
    assert list(numbers["new"]) == keys
    # The case opened 13 months ago is outside the window.
    assert [numbers["new"][k] for k in keys[-4:]] == [1, 1, 0, 1]
    assert sum(numbers["new"].values()) == 3
    assert numbers["closed"][keys[-2]] == 1
    assert sum(numbers["closed"].values()) == 1


def test_median_days_per_phase_counts_completed_stays_only(app, db, network):
    rows = {row.key: row for row in computed(app, db, network.coordinator)["median_days"].rows}
    assert "abgeschlossen" not in rows
    assert (rows["erstberatung"].value, rows["erstberatung"].members) == (20.0, 3)
    assert (rows["bestandsaufnahme"].value, rows["bestandsaufnahme"].members) == (6.0, 2)
    assert (rows["integrationsvereinbarung"].value, rows["integrationsvereinbarung"].members) == (
        4.0,
        1,
    )
    assert rows["monitoring"].value == network.expected_monitoring_days


def test_overdue_goals_of_current_versions_of_open_cases(app, db, network):
    numbers = tables(app, db, network)
    # Not counted: version 1, the closed case, done/dropped goals, goals due today or later.
    assert numbers["overdue_goals"] == {
        "": 1, "Caritas Gütersloh": 1, "Stadt Rietberg": 1,
    }  # fmt: skip


def test_overdue_followups_per_organisation(app, db, network):
    numbers = tables(app, db, network)
    assert numbers["overdue_followups"] == {"Caritas Gütersloh": 1, "Stadt Rietberg": 1}


def test_only_coordinators_get_the_numbers(app, db, network, make_user):
    for role in ("caseworker", "admin", "readonly"):
        with pytest.raises(AccessDenied):
            computed(app, db, make_user(role=role))


def _table(*members: int, key: str = "lead") -> Table:
    rows = [Row(f"k{i}", f"Org {i}", m, m) for i, m in enumerate(members)]
    return Table(key, "T", "C", "U", rows)


def test_csv_hides_small_groups_and_withholds_what_a_total_would_reveal(app):
    with app.test_request_context():
        assert published_values(_table(0, 5, 12)) == ["0", "5", "12"]  # 5 is 5
        # One hidden value: the next smallest non-zero one is withheld too, marked apart.
        assert published_values(_table(3, 0, 9, 7)) == ["<5", "0", "9", "x"]
        assert published_values(_table(1, 4, 30)) == ["<5", "<5", "30"]  # 5 = 1+4 or 2+3 …
        assert published_values(_table(1, 1, 30)) == ["<5", "<5", "x"]  # 2 = 1+1 only
        # The example: 25 running cases, 4 and 5 hidden; "<5" and "x" leave 1-4.
        assert published_values(_table(4, 5, 16)) == ["<5", "x", "16"]
        assert published_values(_table(2, 0)) == ["x", "x"]  # nothing else to withhold
        assert published_values(_table(1, 5, 0)) == ["x", "x", "x"]
        median = Table(
            "median_days", "M", "C", "U", [Row("a", "A", 12.5, 7), Row("b", "B", 3.0, 2)]
        )
        assert published_values(median) == ["12,5", "x"]


def _feasible(bounds: list[tuple[int, int]], total: int) -> list[set[int]]:
    """For a reader who knows each hidden value's bounds and their sum: the values each can
    take. By brute force over the sums the others can reach (no use of the code's rule)."""
    possible = []
    for i, (low, high) in enumerate(bounds):
        reachable = {0}
        for j, (lo, hi) in enumerate(bounds):
            if j != i:
                reachable = {s + v for s in reachable for v in range(lo, hi + 1) if s + v <= total}
        possible.append({v for v in range(low, high + 1) if total - v in reachable})
    return possible


def test_no_hidden_count_can_be_worked_out_from_the_published_numbers_and_the_total(app):
    """2,000 random count tables, each read as an adversary would: the total known (from
    another table), the published counts exact, "<5" as 1-4, "x" as at least 5 (or, in a
    table withheld whole, as anything): every hidden count keeps two or more values."""
    rng = random.Random(20261205)
    with app.test_request_context():
        for _ in range(2000):
            counts = [
                rng.choice([0, 0, rng.randint(1, 4), rng.randint(1, 4), rng.randint(5, 40)])
                for _ in range(rng.randint(1, 7))
            ]
            shown = published_values(_table(*counts))
            assert all(s != "<5" or 1 <= c <= 4 for s, c in zip(shown, counts, strict=True))
            hidden = [i for i, s in enumerate(shown) if s in ("<5", "x")]
            if not hidden or sum(counts) == 0:
                continue
            whole = all(s == "x" for s in shown)
            total = sum(counts)
            rest = total - sum(int(s) for s in shown if s not in ("<5", "x"))
            bounds = [(1, 4) if shown[i] == "<5" else (0 if whole else 5, rest) for i in hidden]
            for i, values in zip(hidden, _feasible(bounds, rest), strict=True):
                assert counts[i] in values, (counts, shown)
                if len(counts) > 1:
                    assert len(values) > 1, (counts, shown, i, values)


def test_charts_escape_labels_and_carry_their_title(app):
    rows = [Row("x", '<script>alert("x")</script>', 3, 3), Row("y", "Träger & Co", 0, 0)]
    with app.test_request_context():
        bars = charts.chart(Table("lead", "Fälle <je> Träger", "C", "U", rows), "lead")
        columns = charts.chart(Table("new", "Neu", "C", "U", rows, "columns"), "new")
    for svg in (bars, columns):
        assert svg.startswith("<svg ") and 'role="img"' in svg
        assert "<script>" not in svg and "&lt;script&gt;" in svg
        assert "Träger &amp; Co" in svg
    assert '<title id="lead-chart-title">Fälle &lt;je&gt; Träger</title>' in bars


def test_phases_and_focus_areas_are_named_by_the_presentation_in_the_users_language(app):
    phases = Table("phase", "P", "C", "U", [Row("erstberatung", "", 2, 2)], vocabulary="phase")
    focus = Table("focus", "F", "C", "U", [Row("wohnen", "", 1, 1)], vocabulary="focus")
    lead = Table("lead", "L", "C", "U", [Row("7", "Caritas", 1, 1)])
    with app.test_request_context():
        assert charts.row_label(phases, phases.rows[0]) == "Erstberatung"
        assert charts.row_label(focus, focus.rows[0]) == "Wohnen"
        assert charts.row_label(lead, lead.rows[0]) == "Caritas"
        assert "Erstberatung" in charts.chart(phases, "phase")


# ---------------------------------------------------------------- across the export's tables


def _phase_table(*members: int) -> Table:
    rows = [Row(phase, "", m, m) for phase, m in zip(PHASES, members, strict=True)]
    return Table("phase", "T", "C", "U", rows, vocabulary="phase", sums=(statistics.OPEN_PHASES,))


def _determined(equations: list[tuple[dict[int, int], int]], unknowns: list[int]) -> set[int]:
    """The unknowns a system of linear equations (coefficients by unknown, right-hand side)
    fixes to one value: Gauss-Jordan elimination over the rationals; an unknown is fixed
    when a row of the reduced system names it alone."""
    rows = [[Fraction(coefficients.get(u, 0)) for u in unknowns] + [Fraction(rhs)]
            for coefficients, rhs in equations]  # fmt: skip
    pivot_row = 0
    for column in range(len(unknowns)):
        pivot = next((r for r in range(pivot_row, len(rows)) if rows[r][column]), None)
        if pivot is None:
            continue
        rows[pivot_row], rows[pivot] = rows[pivot], rows[pivot_row]
        lead = rows[pivot_row][column]
        rows[pivot_row] = [value / lead for value in rows[pivot_row]]
        for r in range(len(rows)):
            if r != pivot_row and rows[r][column]:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[pivot_row], strict=True)]
        pivot_row += 1
    return {
        unknowns[row.index(next(v for v in row[:-1] if v))]
        for row in rows
        if sum(1 for v in row[:-1] if v) == 1
    }


def test_the_solver_finds_what_an_unprotected_export_gives_away():
    # x0 + x1 = 9 and x1 = 5 (another table): both fixed; x2 + x3 = 7: neither.
    equations = [({0: 1, 1: 1}, 9), ({1: 1}, 5), ({2: 1, 3: 1}, 7)]
    assert _determined(equations, [0, 1, 2, 3]) == {0, 1}


def test_the_open_phases_are_protected_by_the_sum_the_lead_table_gives(app):
    """Open phases 20, 3, 0, 8 and 2 closed: "<5" for the 3 and the 2 protected the phase
    table's own total, but the open cases per lead organisation (31) gave the 3 away."""
    with app.test_request_context():
        assert published_values(_phase_table(20, 3, 0, 8, 2)) == ["20", "<5", "0", "x", "<5"]
        assert published_values(_phase_table(20, 8, 0, 9, 3)) == ["20", "8", "0", "9", "<5"]


def test_no_suppressed_count_can_be_solved_from_all_tables_of_the_export(app):
    """1,000 random networks, their cases per phase and open cases per lead organisation
    published together. The adversary writes down every relation of the export (each
    published count exact; the open phases adding up to the lead organisations, a sum the
    export does not give) and solves it by linear algebra; then enumerates every possible
    sum with "<5" as 1 to 4 and "x" as at least 5: no hidden count is ever fixed. (Each
    table against its own sum, given away, is the 2,000-table test above.)"""
    rng = random.Random(20261205)
    open_rows = range(len(statistics.OPEN_PHASES))
    with app.test_request_context():
        for _ in range(1000):
            phases = [rng.choice([0, rng.randint(1, 4), rng.randint(5, 30)]) for _ in PHASES]
            open_total = sum(phases[: len(statistics.OPEN_PHASES)])
            cuts = sorted(rng.randint(0, open_total) for _ in range(rng.randint(0, 4)))
            leads = [b - a for a, b in itertools.pairwise([0, *cuts, open_total])]
            shown = {"phase": published_values(_phase_table(*phases)),
                     "lead": published_values(_table(*leads))}  # fmt: skip
            counts = {"phase": phases, "lead": leads}
            groups = {"phase": list(open_rows), "lead": list(range(len(leads)))}
            hidden = {name: [i for i in rows if shown[name][i] in ("<5", "x")]
                      for name, rows in groups.items()}  # fmt: skip
            published = {name: sum(int(shown[name][i]) for i in rows if i not in hidden[name])
                         for name, rows in groups.items()}  # fmt: skip
            # Linear algebra: one equation, phase unknowns minus lead unknowns.
            unknowns = [(name, i) for name in groups for i in hidden[name]]
            relation = {n: 1 if u[0] == "phase" else -1 for n, u in enumerate(unknowns)}
            rhs = published["lead"] - published["phase"]
            assert not _determined([(relation, rhs)], list(range(len(unknowns)))), shown
            # Enumeration over every sum the open cases could have.
            possible = {u: set() for u in unknowns}
            for total in range(max(published.values()), open_total + 40):
                feasible = {}
                for name in groups:
                    whole = all(value == "x" for value in shown[name])
                    bounds = [(1, 4) if shown[name][i] == "<5" else (0 if whole else 5, total)
                              for i in hidden[name]]  # fmt: skip
                    feasible[name] = _feasible(bounds, total - published[name])
                if all(
                    all(values) if hidden[name] else total == published[name]
                    for name, values in feasible.items()
                ):
                    for name in groups:
                        for i, values in zip(hidden[name], feasible[name], strict=True):
                            possible[(name, i)] |= values
            for (name, i), values in possible.items():
                assert counts[name][i] in values
                assert len(values) > 1, (phases, leads, shown, name, i)
