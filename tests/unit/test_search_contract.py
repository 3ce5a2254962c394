"""The contract of every search backend (tantivy, Whoosh, PostgreSQL), checked the same way on each.

Hits, totals and facets are compared with a brute-force evaluation (``tests.search_oracle``)
on fixed fixtures and on generated corpora; ranking, paging, highlights and removal on
fixed fixtures; and, through the search service, consent windows with the clock moved.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from portal.models.base import local_today
from portal.services import access, consents, search
from portal.services.audit import Requester
from portal.services.search import make_backend
from portal.services.search.backend import IndexEntry, SearchQuery
from tests.conftest import index_jobs_done
from tests.search_oracle import evaluate

BACKENDS = ["tantivy", "whoosh", "postgres"]
ACL = ["l1"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """An empty backend of each kind (PostgreSQL's in the test run's database)."""
    if request.param != "postgres":
        yield make_backend(request.param, tmp_path / "index")
        return
    engine = create_engine(request.getfixturevalue("postgres_url"))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS portal_search CASCADE"))
    yield make_backend("postgres", None, engine)
    engine.dispose()


def entry(version_id: int, **fields) -> IndexEntry:
    """An index entry with plain defaults; ``fields`` override them."""
    values = dict(
        version_id=version_id, document_id=version_id, number=1, current=True, case_id=1,
        case_reference="KIM-2026-00001", title=f"Vermerk {version_id}", body="", names="",
        type="note", phase="erstberatung", focus=[], organisation_id=1,
        date=datetime(2026, 3, 1, 12, tzinfo=UTC) + timedelta(hours=version_id), acl=ACL,
    )  # fmt: skip
    return IndexEntry(**{**values, **fields})


FIXTURES = [
    entry(1, title="Wohnungssuche", body="Die Räume der Wohnung in Gütersloh sind zu klein.",
          names="Mohammed Al-Hassan", focus=["wohnen"]),
    entry(2, title="Sprachkurs", body="Anmeldung zum Integrationskurs beim VHS-Zweckverband.",
          names="Mohammed Al-Hassan", focus=["sprache", "arbeit"], type="assessment"),
    entry(3, title="Arabisch", body="Der Name حَبيبي wird so geschrieben.", case_id=2,
          case_reference="KIM-2026-00002", names="Fatima Yılmaz", organisation_id=2),
    entry(4, title="Strasse und Raeume", body="Eine Wohnung in der Straße am Markt.",
          case_id=2, case_reference="KIM-2026-00002", names="Fatima Yılmaz",
          phase="monitoring", date=datetime(2025, 12, 31, 23, 30, tzinfo=UTC)),
    entry(5, title="Ältere Fassung", body="Wohnung gekündigt, Mietvertrag endet.",
          current=False, number=1, document_id=6),
    entry(6, title="Neue Fassung", body="Mietvertrag verlängert.", number=2, document_id=6),
    entry(7, title="Geheim", body="Wohnung der Familie Schröder.", acl=["l9"],
          names="Jürgen Schröder", case_id=3, case_reference="KIM-2026-00003"),
    entry(8, title="Arbeit", body="Praktikum bei der Arbeitsagentur, Bewerbung geschrieben.",
          names="Olena Kovalenko", case_id=4, case_reference="KIM-2026-00004",
          type="agreement", phase="integrationsvereinbarung", focus=["arbeit"]),
]  # fmt: skip


@pytest.fixture
def indexed(backend):
    backend.update(FIXTURES, [])
    return backend


def assert_as_oracle(backend, entries, query: SearchQuery, acl=ACL):
    """The backend finds, counts and facets exactly what the oracle does (one page of all)."""
    result = backend.search(query, acl)
    expected = evaluate(entries, query, acl)
    assert {h.version_id for h in result.hits} == expected.version_ids, query.text
    assert result.total == expected.total, query.text
    assert result.facets == {**{k: {} for k in expected.facets}, **expected.facets}, query.text
    return result


QUERIES = [
    "Raum", "Raeume", "räume", "Guetersloh", "gutersloh", "Strasse", "Straße",
    "Integrations*", "Wohn*", '"Räume der Wohnung"', '"Wohnung in"', "حبيبي",
    "Mohamed Hasan", "Yilmaz", "Wohnung OR Praktikum", "Wohnung -Gütersloh",
    "Wohnung (Markt OR klein)", "Wohnung AND NOT Markt", "titel:Wohnung", "titel:Wohnungssuche",
    "text:Wohnung", "name:Schröder", "name:Mohammed", "az:KIM-2026-00002", "KIM-2026-00004",
    "Al-Hassan", "Mietvertrag", "Bewerbung geschrieben", '"Bewerbung geschrieben"',
    "Kovalenko", "Kovalneko", "(Wohnung", 'Wohnung"', "Wohnung)", "Wohnung~", "+Wohnung",
]  # fmt: skip


@pytest.mark.parametrize("text", QUERIES)
def test_finds_counts_and_facets_what_the_oracle_does(indexed, text):
    assert_as_oracle(indexed, FIXTURES, SearchQuery(text=text, per_page=100))


@pytest.mark.parametrize(
    ("text", "version_ids"),
    [
        ("Raeume", {1, 4}),
        ("Guetersloh", {1}),
        ('"Räume der Wohnung"', {1}),
        ("Integrations*", {2}),
        ("حبيبي", {3}),
        ("Mohamed Hasan", {1, 2}),
        ("titel:Wohnung", set()),
        ("name:Schröder", set()),  # another organisation's
        ("az:KIM-2026-00002", {3, 4}),
        ("Wohnung -Gütersloh", {4}),
    ],
)
def test_the_oracle_itself_finds_what_people_expect(text, version_ids):
    assert evaluate(FIXTURES, SearchQuery(text=text), ACL).version_ids == version_ids


@pytest.mark.parametrize(
    "filters",
    [
        {"types": ["assessment", "agreement"]},
        {"phase": "monitoring"},
        {"focus": "arbeit"},
        {"organisation_id": 2},
        {"case_id": 2},
        {"exclude_case_ids": [1, 4]},
        {"all_versions": True},
        {"date_from": datetime(2026, 1, 1, tzinfo=UTC)},
        {"date_to": datetime(2025, 12, 31, 23, 30, tzinfo=UTC)},
    ],
)
def test_filters_narrow_hits_totals_and_facets(indexed, filters):
    for typed in ("Wohnung OR Praktikum OR Mietvertrag OR Sprachkurs", "Wohn*"):
        assert_as_oracle(indexed, FIXTURES, SearchQuery(text=typed, per_page=100, **filters))


def test_access_tokens_decide_what_exists(indexed):
    assert indexed.search(SearchQuery(text="Schröder"), ["l2"]).total == 0
    assert_as_oracle(indexed, FIXTURES, SearchQuery(text="Wohnung", per_page=100), ["l9"])
    assert_as_oracle(indexed, FIXTURES, SearchQuery(text="Wohnung", per_page=100), ["l1", "l9"])
    empty = indexed.search(SearchQuery(text="Wohnung"), [])
    assert (empty.hits, empty.total) == ([], 0)
    assert indexed.similar(1, []) == []


def test_title_ranks_above_body_and_date_sort_is_newest_first(backend):
    backend.update(
        [
            entry(1, title="Vermerk", body="Es geht um den Sprachkurs am Montag."),
            entry(2, title="Sprachkurs", body="Anmeldung erledigt."),
            entry(3, title="Notiz", body="Sprachkurs Sprachkurs, und noch einmal Sprachkurs."),
        ],
        [],
    )
    ranked = [h.version_id for h in backend.search(SearchQuery(text="Sprachkurs"), ACL).hits]
    assert ranked[0] == 2
    assert ranked.index(3) < ranked.index(1)  # more occurrences in a text of like length
    by_date = backend.search(SearchQuery(text="Sprachkurs", sort="date"), ACL)
    assert [h.version_id for h in by_date.hits] == [3, 2, 1]


def test_prefixes_alone_are_unscored_and_come_newest_first(backend):
    backend.update(
        [
            entry(1, title="Kindergeld", body="Kindergeld beantragt, Kindergeld bewilligt."),
            entry(2, title="Vermerk", body="Die Kinderbetreuung ist geklärt."),
            entry(3, title="Notiz", body="Ein Kinderarzt in der Nähe.", names="Kindermann"),
            entry(4, title="Kinder", body="Nichts davon."),  # "kind": no word of kinder*
        ],
        [],
    )
    for typed in ("Kinder*", "Kinder* OR Kinderb*", "Kinder* -Schule"):
        result = backend.search(SearchQuery(text=typed), ACL)
        assert [(h.version_id, h.score) for h in result.hits] == [(3, 0), (2, 0), (1, 0)], typed
    mixed = backend.search(SearchQuery(text="Kindergeld OR Kinderb*"), ACL)
    assert mixed.hits[0].version_id == 1 and mixed.hits[0].score > 0


def test_pages_partition_the_results(backend):
    backend.update([entry(n, body="Wohnung gesucht.") for n in range(1, 24)], [])
    pages = [
        backend.search(SearchQuery(text="Wohnung", page=p, per_page=10), ACL) for p in range(1, 5)
    ]
    ids = [h.version_id for page in pages for h in page.hits]
    assert sorted(ids) == list(range(1, 24)) and len(ids) == 23
    assert [len(p.hits) for p in pages] == [10, 10, 3, 0]
    assert {p.total for p in pages} == {23}
    assert {tuple(sorted(p.facets["type"].items())) for p in pages} == {(("note", 23),)}


def test_highlights_mark_the_words_found_in_readable_passages(indexed):
    result = indexed.search(SearchQuery(text="Raeume -Markt"), ACL)
    (hit,) = result.hits
    assert hit.version_id == 1
    assert any("«Räume»" in passage for passage in hit.highlights)
    assert all("Markt" not in p for p in hit.highlights)
    (named,) = indexed.search(SearchQuery(text="name:Kovalenko"), ACL).hits
    assert any("«Kovalenko»" in p for p in named.highlights)
    (prefixed,) = indexed.search(SearchQuery(text="Integrations*"), ACL).hits
    assert any("«Integrationskurs»" in p for p in prefixed.highlights)


def test_removed_entries_and_cases_are_gone(indexed):
    indexed.update([], [1])
    indexed.replace_case(2, [])
    assert indexed.version_ids() == {2, 5, 6, 7, 8}
    rest = [e for e in FIXTURES if e.version_id in {2, 5, 6, 7, 8}]
    assert_as_oracle(indexed, rest, SearchQuery(text="Wohnung OR Räume", per_page=100))
    indexed.replace_case(1, [entry(9, body="Räume neu vermessen.")])
    assert indexed.version_ids() == {7, 8, 9}


def test_rebuild_and_clear(indexed):
    indexed.clear()
    assert indexed.version_ids() == set()
    assert indexed.rebuild(iter([FIXTURES[:4], FIXTURES[4:]])) == len(FIXTURES)
    assert_as_oracle(indexed, FIXTURES, SearchQuery(text="Wohnung", per_page=100))


def test_similar_documents_share_key_terms_and_respect_access(backend):
    backend.update(
        [
            entry(1, body="Die Räume der Wohnung in Gütersloh sind klein und feucht."),
            entry(2, body="Feucht und klein: die Räume der Wohnung, Gütersloh Innenstadt."),
            entry(3, body="Praktikum bei der Arbeitsagentur."),
            entry(4, body="Die Räume der Wohnung in Gütersloh sind klein.", acl=["l9"]),
            entry(5, body="Die Räume der Wohnung in Gütersloh sind klein.", document_id=1,
                  current=False),
        ],
        [],
    )  # fmt: skip
    similar = [h.document_id for h in backend.similar(1, ACL)]
    assert similar[:1] == [2]
    assert not {1, 4} & set(similar)


# ---------------------------------------------------------------- generated corpora

# Words on which PostgreSQL's german configuration and the portal's analysis agree.
VOCABULARY = " ".join(
    (
        "Wohnung Wohnungen Räume Raum Miete Mietvertrag Sprachkurs Sprachkurse",
        "Integrationskurs Arbeit Arbeitsagentur Jobcenter Ausbildung Schule Kinder",
        "Kindergarten Familie Gesundheit Arzt Ärztin Termin Termine Beratung Beratungen",
        "Aufenthalt Aufenthaltstitel Ausländerbehörde Anerkennung Zeugnis Zeugnisse",
        "Bewerbung Bewerbungen Praktikum Vermittlung Straße Straßen Gütersloh Bielefeld",
        "Übersetzung Dolmetscher Antrag Anträge Bescheid Bescheide Kindergeld Wohngeld",
        "Führerschein Fahrschule Ehrenamt Begleitung Patenschaft Nachbarschaft Möbel",
        "Küche Heizung Vermieter Kaution Deutschkurs Prüfung Prüfungen Zertifikat",
        "Einbürgerung Versicherung Krankenkasse Impfung Schwangerschaft Hebamme",
    )
).split()
NAMES = ["Mohammed Al-Hassan", "Fatima Yılmaz", "Olena Kovalenko", "Ahmad Rahimi",
         "Jürgen Schröder", "Amira Haddad", "Dmytro Bondarenko", "Samira Osman"]  # fmt: skip


def corpus(rng: random.Random, size: int) -> list[IndexEntry]:
    entries = []
    for n in range(1, size + 1):
        case = rng.randint(1, 12)
        entries.append(
            entry(
                n,
                document_id=(n + 1) // 2,
                current=n % 2 == 0 or rng.random() < 0.3,
                case_id=case,
                case_reference=f"KIM-2026-{case:05d}",
                title=" ".join(rng.choices(VOCABULARY, k=rng.randint(1, 3))),
                body=" ".join(rng.choices(VOCABULARY, k=rng.randint(4, 40))),
                names=NAMES[case % len(NAMES)],
                type=rng.choice(["note", "assessment", "file"]),
                phase=rng.choice(["erstberatung", "monitoring"]),
                focus=rng.sample(["wohnen", "arbeit", "sprache"], rng.randint(0, 2)),
                organisation_id=rng.randint(1, 3),
                date=datetime(2025, 6, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 400)),
                acl=rng.sample(["l1", "l2", "c5o1", "c6o2", "c7o3"], rng.randint(1, 2)),
            )
        )
    return entries


def random_query(rng: random.Random, entries: list[IndexEntry]) -> SearchQuery:
    word, other = rng.choice(VOCABULARY), rng.choice(VOCABULARY)
    body = rng.choice(entries).body.split()
    start = rng.randrange(len(body) - 1)
    name = rng.choice(" ".join(NAMES).replace("-", " ").split())
    typo = name[0] + name[1:3] + rng.choice("aeiouxy") + name[4:] if len(name) > 4 else name
    text = rng.choice(
        [word, f"{word} {other}", f"{word} OR {other}", f"{word} -{other}",
         f'"{body[start]} {body[start + 1]}"', f"{word[: rng.randint(3, 5)]}*",
         typo, f"titel:{word}", f"name:{name}", f"({word} OR {other}) -{name}"]
    )  # fmt: skip
    filters = rng.choice(
        [{}, {"types": ["note"]}, {"phase": "monitoring"}, {"focus": "wohnen"},
         {"organisation_id": 2}, {"all_versions": True}, {"case_id": rng.randint(1, 12)}]
    )  # fmt: skip
    return SearchQuery(text=text, per_page=100, **filters)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_corpora_agree_with_the_oracle(backend, seed):
    rng = random.Random(seed)
    entries = corpus(rng, 120)
    backend.update(entries, [])
    for _ in range(40):
        query = random_query(rng, entries)
        acl = rng.sample(["l1", "l2", "c5o1", "c6o2", "c7o3"], rng.randint(1, 3))
        try:
            assert_as_oracle(backend, entries, query, acl)
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}, query {query!r}, acl {acl}") from exc


# ---------------------------------------------------------------- consent windows


@pytest.fixture
def service_backend(request, app, tmp_path):
    """Each backend behind the search service; PostgreSQL's in the test run's PostgreSQL
    database also when the portal's own database is SQLite."""
    kind, engine = request.param, app.extensions["portal.db"].engine
    if kind == "postgres" and engine.dialect.name != "postgresql":
        engine = create_engine(request.getfixturevalue("postgres_url"))
        request.addfinalizer(engine.dispose)
    backend = make_backend(kind, tmp_path / f"index-{kind}", engine)
    backend.clear()
    return backend


def assert_partner_search(db, backend, monkeypatch, partner, notes, entries, day, visible):
    """With the clock ``day`` days from today: the partner's search for "Wohnung" finds
    exactly what the policy lets it read (``visible``, by title), with the totals and
    facets of a brute-force evaluation of ``entries`` for the partner's tokens."""
    moved = local_today() + timedelta(days=day)
    monkeypatch.setattr(access, "local_today", lambda: moved)
    db.expire_all()
    query = SearchQuery(text="Wohnung", per_page=100)
    found, result = search.search(db, backend, Requester(partner), query)
    policy = {n.title for n in notes if access.can(partner, access.READ_DOCUMENT, n)}
    assert {f.document.title for f in found} == policy == visible, day
    expected = evaluate(entries, query, access.user_search_tokens(db, partner))
    assert (result.total, result.facets) == (expected.total, expected.facets), day
    assert result.total == len(visible), day


@pytest.mark.parametrize("service_backend", BACKENDS, indirect=True)
def test_consent_windows_are_exact_at_every_instant(
    db, service_backend, monkeypatch, make_user, make_case, make_note
):
    """Hits, totals and facets of a partner's searches, with the clock moved across a
    consent's first and last day and a revocation, equal a brute-force evaluation of the
    access policy; the index is not touched after the consent is recorded."""
    stadt, caritas = make_user(), make_user()
    today = local_today()
    case = make_case(stadt)
    other = make_case(stadt)
    consent = consents.record(
        db, stadt, case, organisation_ids=[caritas.organisation_id],
        valid_from=today + timedelta(days=1), valid_until=today + timedelta(days=2),
    )  # fmt: skip
    db.commit()
    # Caritas writes its own note on the consent's first day.
    monkeypatch.setattr(access, "local_today", lambda: today + timedelta(days=1))
    notes = [
        make_note(stadt, case, title="Wohnung", text="Wohnung in Gütersloh gefunden."),
        make_note(stadt, case, title="Intern", text="Wohnung intern.", visibility="internal"),
        make_note(caritas, case, title="Caritas", text="Wohnung gesehen.", visibility="internal"),
        make_note(stadt, other, title="Andere", text="Wohnung anderswo."),
    ]  # fmt: skip
    search.index_case(db, service_backend, case.id)
    search.index_case(db, service_backend, other.id)
    index_jobs_done(db)
    entries = [e for note in notes for e in search.entries_for(db, note)]

    def check(day: int, visible: set[str]) -> None:
        assert_partner_search(
            db, service_backend, monkeypatch, caritas, notes, entries, day, visible
        )

    check(0, set())  # not yet
    check(1, {"Wohnung", "Caritas"})  # the first day
    check(2, {"Wohnung", "Caritas"})  # the last day
    check(3, set())  # over
    monkeypatch.setattr(access, "local_today", lambda: today + timedelta(days=1))
    consents.revoke(db, stadt, case, consent.id)
    db.commit()
    check(1, set())  # revoked: at once, the index still lists the consent


@pytest.mark.parametrize("service_backend", BACKENDS, indirect=True)
def test_consents_in_force_from_recording_share_tokens_and_stay_exact(
    db, service_backend, monkeypatch, make_user, make_case, make_note
):
    """Two cases released to Caritas until the same last day share one token: passing that
    day, and revoking one of them before its reindex has run, hide exactly what the
    policy hides (hits, totals, facets)."""
    stadt, caritas = make_user(), make_user()
    today = local_today()
    first, second = make_case(stadt), make_case(stadt)
    for case in (first, second):
        consents.record(
            db, stadt, case, organisation_ids=[caritas.organisation_id],
            valid_until=today + timedelta(days=1),
        )  # fmt: skip
    notes = [
        make_note(stadt, first, title="Erster", text="Wohnung in Gütersloh."),
        make_note(stadt, second, title="Zweiter", text="Wohnung in Harsewinkel."),
    ]
    db.commit()
    for case in (first, second):
        search.index_case(db, service_backend, case.id)
    index_jobs_done(db)
    entries = [e for note in notes for e in search.entries_for(db, note)]
    assert len({token for e in entries for token in e.acl if token.startswith("o")}) == 1

    def check(day: int, visible: set[str]) -> None:
        assert_partner_search(
            db, service_backend, monkeypatch, caritas, notes, entries, day, visible
        )

    check(0, {"Erster", "Zweiter"})
    check(1, {"Erster", "Zweiter"})  # the last day
    check(2, set())
    consents.revoke(db, stadt, first, first.consents[0].id)
    db.commit()
    check(1, {"Zweiter"})  # the index still lists the first case's token: left out
    search.index_case(db, service_backend, first.id)
    entries = [e for note in notes for e in search.entries_for(db, note)]
    check(1, {"Zweiter"})
