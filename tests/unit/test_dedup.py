"""Duplicate-person detection: Kölner Phonetik, normalisation, transliterations, birth
dates, near misses, and the database query that returns metadata only."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import event, select

from portal.models import Case, Person
from portal.services import cases, dedup
from portal.services.dedup import (
    THRESHOLD,
    birth_date_agreement,
    koelner_digits,
    koelner_phonetik,
    match_score,
    name_similarity,
    normalise_name,
    scoring,
)


def person(given: str, family: str, birth: str | None = "1988-03-04", **extra) -> dict:
    """A person dict as cases.parse_person makes it."""
    year, month, day = cases.parse_birth_date(birth)
    return {"given_name": given, "family_name": family, "birth_year": year,
            "birth_month": month, "birth_day": day, **extra}  # fmt: skip


def same(a: dict, b: dict) -> bool:
    return match_score(a, b) >= THRESHOLD


# ---------------------------------------------------------------- Kölner Phonetik

# Postel's example and the test vectors of Apache Commons Codec (ColognePhoneticTest).
KOELNER_REFERENCE = {
    "Müller-Lüdenscheidt": "65752682",
    "Wikipedia": "3412",
    "Breschnew": "17863",
    "Müller": "657",
    "müller": "657",
    "schmidt": "862",
    "schneider": "8627",
    "fischer": "387",
    "weber": "317",
    "wagner": "3467",
    "becker": "147",
    "hoffmann": "0366",
    "schäfer": "837",
    "peter": "127",
    "pharma": "376",
    "mönchengladbach": "664645214",
    "bergisch-gladbach": "174845214",
    "deutsch": "28",
    "deutz": "28",
    "hamburg": "06174",
    "hannover": "0637",
    "christstollen": "478256",
    "Xanthippe": "48621",
    "Zacharias": "8478",
    "Holzbau": "0581",
    "matsch": "68",
    "matz": "68",
    "Arbeitsamt": "071862",
    "Eberhard": "01772",
    "Eberhardt": "01772",
    "Celsius": "8588",
    "Ace": "08",
    "shch": "84",
    "xch": "484",
    "heithabu": "021",
    "Xavier": "4837",
    "Christopher": "478237",
    "Wilhelm": "3556",
    "Philip": "351",
    "Patrick": "1274",
    "Albrecht": "051742",
}


@pytest.mark.parametrize(("word", "code"), KOELNER_REFERENCE.items())
def test_koelner_phonetik_reference_codes(word, code):
    assert koelner_phonetik(word) == code


def test_koelner_phonetik_digits_before_merging_as_published():
    # the published intermediate code: H has none, repeats and zeros still there
    assert koelner_digits("Müller-Lüdenscheidt") == "60550750206880022"
    assert koelner_phonetik("Müller-Lüdenscheidt") == "65752682"


@pytest.mark.parametrize(
    "variants",
    [("Meier", "Maier", "Mair", "Meyer", "Meyr", "Mejer", "Major"),
     ("Muller", "Müller", "Mueller"), ("ganz", "Gans", "Gänse")],
)  # fmt: skip
def test_koelner_phonetik_codes_variants_alike(variants):
    assert len({koelner_phonetik(v) for v in variants}) == 1


def test_koelner_phonetik_of_nothing_is_empty():
    assert koelner_phonetik("") == "" == koelner_phonetik("- 42 -")


# ---------------------------------------------------------------- normalisation


def test_umlauts_fold_to_one_spelling():
    assert normalise_name("Müller") == normalise_name("Mueller") == normalise_name("Muller")
    assert normalise_name("MÜLLER") == normalise_name("müller")
    assert normalise_name("Öztürk") == normalise_name("Oeztuerk") == normalise_name("Ozturk")
    assert normalise_name("Strauß") == normalise_name("Strauss")


def test_turkish_romanian_and_cyrillic_letters_fold():
    assert normalise_name("Yıldız") == normalise_name("Yildiz")
    assert normalise_name("İbrahim") == normalise_name("Ibrahim")
    assert normalise_name("Șerban") == normalise_name("Serban")
    assert normalise_name("Шевченко") == normalise_name("Shevchenko")
    assert normalise_name("Ševčenko") == normalise_name("Schewtschenko")


def test_article_variants_are_one_family_name_and_dropping_it_costs_little():
    # Decision: Al-Hassan, Al Hassan, Alhassan, El-Hassan and al-hasan are the same
    # name; plain Hassan (article dropped, as German files often do) is the same name
    # too, at a small discount — still far above the threshold.
    forms = ["Al-Hassan", "Al Hassan", "Alhassan", "El-Hassan", "al-hasan", "AL HASSAN"]
    for form in forms:
        assert name_similarity("Mohammed", "Al-Hassan", "Mohammed", form) == 1.0, form
    dropped = name_similarity("Mohammed", "Al-Hassan", "Mohammed", "Hassan")
    assert 0.97 <= dropped < 1.0
    assert normalise_name("Al-Hassan") == normalise_name("Hassan") == "hasan"


def test_article_shared_by_both_is_no_evidence():
    # compared as Ali and Halabi, not as alali and alhalabi
    assert name_similarity("Jamil", "Al-Ali", "Jamil", "Al-Halabi") < THRESHOLD


def test_sun_letter_articles_and_filiation_particles():
    assert name_similarity("Ahmad", "Ad-Dulaimi", "Ahmad", "Al-Dulaimi") == 1.0
    assert name_similarity("Ali", "Ash-Shami", "Ali", "Al-Shami") == 1.0
    assert normalise_name("bin Laden") == normalise_name("Laden")
    assert normalise_name("Abd al-Rahman") == normalise_name("Abdul Rahman")
    assert name_similarity("Abdulrahman", "Haddad", "Abdel Rahman", "Haddad") == 1.0
    assert name_similarity("Abdurrahman", "Haddad", "Abd al-Rahman", "Haddad") == 1.0


def test_hyphens_and_spaces_inside_names():
    assert name_similarity("Ali Reza", "Ahmadi", "Alireza", "Ahmadi") == 1.0
    assert name_similarity("Yohannes", "Gebre Yesus", "Yohannes", "Gebreyesus") == 1.0
    assert name_similarity("Yohannes", "Gebre-Yesus", "Yohannes", "Gebreyesus") == 1.0


# ---------------------------------------------------------------- transliterations


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mohammed", "Muhammad"), ("Mohammed", "Mohamad"), ("Mohammed", "Mohamed"),
        ("Muhammad", "Mohamed"), ("Mohammad", "Muhammed"),
        ("Aleksandr", "Oleksandr"), ("Aleksandr", "Alexander"), ("Oleksandr", "Alexander"),
        ("Yohannes", "Yohanes"), ("Tesfay", "Tesfai"), ("Ghebremedhin", "Gebremedhin"),
        ("Khaled", "Khalid"), ("Khaled", "Chaled"), ("Youssef", "Yusuf"), ("Yusuf", "Jusuf"),
        ("Hussein", "Hussain"), ("Zainab", "Zeinab"), ("Ahmad", "Ahmed"), ("Omar", "Umar"),
        ("Jamal", "Dschamal"), ("Volodymyr", "Wolodymyr"), ("Volodymyr", "Vladimir"),
        ("Mykhailo", "Mychajlo"), ("Andriy", "Andrii"), ("Serhiy", "Sergej"),
        ("Iryna", "Irina"), ("Nataliia", "Natalija"), ("Qassem", "Kassem"),
    ],
)  # fmt: skip
def test_transliterations_of_a_given_name_match(a, b):
    assert same(person(a, "Kovalenko"), person(b, "Kovalenko"))
    assert name_similarity(a, "X", b, "X") >= 0.95


@pytest.mark.parametrize(
    ("a", "b"),
    [("Shevchenko", "Schewtschenko"), ("Kovalenko", "Kowalenko"), ("Tkachenko", "Tkatschenko"),
     ("Zhuk", "Schuk"), ("Darwish", "Darwisch"), ("Jaber", "Dschaber"), ("Al-Sheikh", "Al-Scheich"),
     ("Ghebreyesus", "Gebreyesus"), ("Weldemariam", "Woldemariam"), ("Hosseini", "Husseini"),
     ("Yilmaz", "Yılmaz"), ("Çelik", "Celik"), ("Popescu", "Popesku"), ("Azizi", "Asisi")],
)  # fmt: skip
def test_transliterations_of_a_family_name_match(a, b):
    assert same(person("Amina", a), person("Amina", b))


def test_typos_are_forgiven():
    assert same(person("Mohammed", "Al-Hassan"), person("Mohammed", "Al-Hasasn"))
    assert same(person("Oleksandr", "Kovalenko"), person("Oleksnadr", "Kovalenko"))
    assert same(person("Fereshteh", "Rahimi"), person("Fereshte", "Rahimy"))


def test_swapped_given_and_family_name_match():
    assert same(person("Tesfay", "Yohannes"), person("Yohannes", "Tesfay"))
    assert same(person("Mohammed", "Al-Hassan"), person("Alhassan", "Muhammad"))
    assert match_score(person("Tesfay", "Yohannes"), person("Yohannes", "Tesfay")) < 1.0


def test_second_given_name_on_one_side_only_matches():
    assert same(person("Yohannes Tesfay", "Gebremedhin"), person("Yohannes", "Gebremedhin"))
    # the father (his name is the second one in the son's chain) is told apart by the
    # birth date, or when it is unknown, by the name chain alone
    son = person("Yohannes Tesfay", "Gebremedhin", "1998-05-01")
    assert not same(person("Tesfay", "Gebremedhin", "1969"), son)
    assert not same(person("Tesfay", "Gebremedhin", None), son)


def test_stored_other_spellings_are_searched():
    stored = person("Olena", "Shevchenko", aliases=["Olena Petrenko"])
    assert same(person("Olena", "Petrenko"), stored)
    assert not same(person("Olena", "Petrenko"), person("Olena", "Shevchenko"))
    only_family = person("Mohammed", "Haddad", aliases=["Al-Hadad"])
    assert same(person("Muhammad", "Al Hadad"), only_family)
    # the new entry's aliases are used too
    new = person("Olena", "Shevchenko", aliases=["Olena Petrenko"])
    assert same(new, person("Olena", "Petrenko"))


# ---------------------------------------------------------------- birth dates


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1988-03-04", "1988-03-04", 1.0),  # exact
        ("1988-03-04", "1988-04-03", 1.0),  # day and month swapped
        ("1988", "1988-03-04", 1.0),  # year only
        ("1988-03", "1988-03-04", 1.0),  # year and month
        ("1988-03", "1988", 1.0),
        ("1988-01-01", "1988-07-15", 1.0),  # the 01.01. placeholder
        ("1988-04", "1988-03-04", 0.95),  # the day may have been taken for the month
        ("1988-03-04", "1988-03-20", 0.90),  # same year and month
        ("1988-03-04", "1988-07-20", 0.80),  # same year only
        ("1988-03", "1988-07-20", 0.80),
        (None, "1988-03-04", 0.93),  # unknown on one side
        (None, None, 0.93),
        ("1988-03-04", "1989-03-04", 0.0),  # different years: never the same person
        ("1988", "1987", 0.0),
    ],
)
def test_birth_date_agreement(a, b, expected):
    assert birth_date_agreement(person("A", "B", a), person("A", "B", b)) == expected
    assert birth_date_agreement(person("A", "B", b), person("A", "B", a)) == expected


def test_different_birth_years_rule_out_even_identical_names():
    born_1988 = person("Mohammed", "Al-Hassan", "1988")
    assert match_score(born_1988, person("Mohammed", "Al-Hassan", "1990")) == 0


def test_partial_and_swapped_dates_keep_the_full_score():
    stored = person("Mohammed", "Al-Hassan", "1988-03-04")
    assert match_score(person("mohammed", "Al Hassan", "1988-04-03"), stored) == 1.0
    assert match_score(person("Mohammed", "Al-Hassan", "1988"), stored) == 1.0
    assert match_score(person("Mohammed", "Al-Hassan", None), stored) < 1.0


# ---------------------------------------------------------------- near misses


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # common given name, another family
        (person("Mohammed", "Al-Hassan"), person("Mohammed", "Haddad")),
        (person("Mohammed", "Rahimi"), person("Mohammed", "Karimi", "1988-07-20")),
        # similar but different given names, same family
        (person("Mohammed", "Al-Hassan"), person("Mahmoud", "Al-Hassan", "1988-11-23")),
        (person("Hassan", "Haddad"), person("Hussein", "Haddad", "1988-06-01")),
        (person("Olena", "Shevchenko"), person("Olha", "Shevchenko", None)),
        (person("Daniel", "Popescu", gender="male"), person("Daniela", "Popescu", gender="female")),
        # similar but different family names
        (person("Dmytro", "Kovalenko"), person("Dmytro", "Kovalchuk", "1988-09-10")),
        (person("Ahmad", "Rahimi", None), person("Ahmad", "Hakimi")),
        (person("Maksym", "Shevchenko", None), person("Maksym", "Shevchuk")),
        # relatives: same family name, another given name, another or the same year
        (person("Fatima", "Al-Khatib", "1990"), person("Amina", "Al-Khatib", "1990-05-05")),
        (person("Yohannes", "Tesfay", "1975-01-01"), person("Dawit", "Tesfay", "1998-02-14")),
        # namesakes born in another year
        (person("Ali", "Ahmadi", "1979"), person("Ali", "Ahmadi", "1994-06-01")),
    ],
)
def test_near_misses_are_not_matched(a, b):
    assert not same(a, b), match_score(a, b)
    assert not same(b, a)


def test_gender_mismatch_lowers_the_score():
    female = person("Nour", "Haddad", gender="female")
    assert match_score(female, person("Nour", "Haddad", gender="male")) < match_score(
        female, person("Nour", "Haddad", gender="unspecified")
    )


# ---------------------------------------------------------------- ranking many persons

GIVEN = ["Mohammed", "Ahmad", "Ali", "Fatima", "Amina", "Olena", "Oleksandr", "Iryna",
         "Dmytro", "Yohannes", "Senait", "Mehmet", "Ayşe", "Ion", "Maria", "Zahra", "Hamid",
         "Nour"]  # fmt: skip
FAMILY = ["Al-Hassan", "Haddad", "Kovalenko", "Shevchenko", "Rahimi", "Ahmadi", "Tesfay",
          "Ghebreyesus", "Yılmaz", "Çelik", "Popescu", "Al-Jubouri", "Hosseini", "Melnyk",
          "Darwish", "Stanekzai", "Weldemariam", "Ionescu", "Qassem", "Bondarenko"]  # fmt: skip


def population(size: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    people = []
    for i in range(size):
        year = rng.randint(1950, 2005)
        full = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        birth = rng.choice([None, f"{year}", full])
        people.append({"id": i, **person(rng.choice(GIVEN), rng.choice(FAMILY), birth)})
    return people


def test_rank_is_sorted_limited_and_thresholded():
    people = population(400)
    for year in range(1970, 1985):  # namesakes: without a birth date all are candidates
        people.append({"id": year, **person("Muhammad", "Al-Hassan", f"{year}")})
    query = person("Mohammed", "Al Hasan", None)
    ranked = dedup.rank(query, people)
    scores = [score for score, _p in ranked]
    assert 0 < len(ranked) <= dedup.MAX_CANDIDATES
    assert scores == sorted(scores, reverse=True)
    assert all(score >= THRESHOLD for score in scores)
    everything = dedup.rank(query, people, limit=None)
    assert len(everything) > dedup.MAX_CANDIDATES


@pytest.mark.parametrize(
    "query",
    [person("Mohammed", "Al Hasan", None), person("Olexandr", "Kowalenko", "1979"),
     person("Rahimi", "Zahra", "1988-03-04"), person("Yohanes", "Gebreyesus", None),
     person("Ayse", "Yilmaz", None, aliases=["Ayse Celik"]), person("Nobody", "Unknown", None)],
)  # fmt: skip
def test_prefilter_gives_the_same_result_as_scoring_everybody(query):
    people = population(3000, seed=1)
    assert dedup.rank(query, people, limit=None) == dedup.rank(
        query, people, limit=None, prefilter=False
    )


def test_prefilter_scores_only_a_small_part(monkeypatch):
    people = population(3000, seed=2)
    scored = []
    original = scoring._score
    monkeypatch.setattr(scoring, "_score", lambda *args: scored.append(1) or original(*args))
    dedup.rank(person("Oleksandr", "Kovalenko", None), people)
    assert 0 < len(scored) < len(people) / 10


# ---------------------------------------------------------------- the database

METADATA_KEYS = {"person_id", "score", "case_refs", "lead_organisation"}


def test_find_candidates_returns_metadata_only(db, make_user, make_case, make_note):
    worker = make_user()
    existing = make_case(
        worker, given_name="Mohammed", family_name="Al-Hassan", birth_date="1988-03-04",
        aliases=["Muhammad Al Hasan"], phone="0170 123456", address="Lindenweg 1",
    )  # fmt: skip
    make_note(worker, existing, text="Vertraulich: Aufenthaltsstatus ungeklärt.")
    make_case(worker, given_name="Olena", family_name="Kovalenko", birth_date="1979")
    (candidate,) = dedup.find_candidates(db, person("Muhamad", "Alhasan", "1988-04-03"))
    assert set(candidate) == METADATA_KEYS
    assert candidate["person_id"] == existing.person_id
    assert candidate["case_refs"] == [existing.reference]
    assert candidate["lead_organisation"] == {
        "id": worker.organisation.id,
        "name": worker.organisation.name,
    }
    assert 0 < candidate["score"] <= 1 and round(candidate["score"], 2) == candidate["score"]
    text = repr(candidate)
    for secret in ("Vertraulich", "0170", "Lindenweg", "Mohammed", "1988"):
        assert secret not in text


def test_find_candidates_lists_all_cases_and_the_newest_lead(db, make_user, make_org, make_case):
    first_worker = make_user()
    second_org = make_org(name="Caritas Gütersloh", kind="wohlfahrtsverband")
    first = make_case(first_worker, given_name="Yohannes", family_name="Tesfay", birth_date="1990")
    later = Case(
        reference=cases.next_reference(db), person_id=first.person_id,
        lead_organisation_id=second_org.id, phase="erstberatung", focus_areas=[],
    )  # fmt: skip
    db.add(later)
    db.commit()
    (candidate,) = dedup.find_candidates(db, person("Yohanes", "Tesfai", "1990-06-01"))
    assert candidate["case_refs"] == [first.reference, later.reference]
    assert candidate["lead_organisation"] == {"id": second_org.id, "name": second_org.name}


def test_find_candidates_best_first_at_most_ten(db, make_user, make_case):
    worker = make_user()
    exact = make_case(worker, given_name="Amina", family_name="Haddad", birth_date="1990-05-17")
    for day in range(1, 12):
        make_case(worker, given_name="Amina", family_name="Hadad", birth_date=f"1990-05-{day:02d}")
    found = dedup.find_candidates(db, person("Amina", "Haddad", "1990-05-17"))
    assert len(found) == dedup.MAX_CANDIDATES
    assert found[0]["person_id"] == exact.person_id and found[0]["score"] == 1.0
    assert [c["score"] for c in found] == sorted((c["score"] for c in found), reverse=True)


def test_find_candidates_ignores_other_years_and_persons_without_case(db, make_user, make_case):
    worker = make_user()
    make_case(worker, given_name="Ihor", family_name="Melnyk", birth_date="1970-02-02")
    db.add(Person(given_name="Ihor", family_name="Melnyk", birth_year=1985))  # no case (purged)
    db.commit()
    assert dedup.find_candidates(db, person("Igor", "Melnik", "1985")) == []
    assert len(dedup.find_candidates(db, person("Igor", "Melnik", "1970"))) == 1
    assert dedup.find_candidates(db, person("Olena", "Kovalenko", None)) == []


def test_find_candidates_needs_two_queries(db, make_user, make_case):
    worker = make_user()
    for i in range(5):
        make_case(worker, given_name="Zahra", family_name="Rahimi", birth_date=f"{1980 + i}")
    statements = []
    engine = db.get_bind()

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        found = dedup.find_candidates(db, person("Sahra", "Rahimy", None))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(found) == 5
    assert len(statements) == 2


def test_create_case_reports_a_transliterated_duplicate(db, make_user):
    worker = make_user()
    existing = cases.create_case(
        db, worker, person={"given_name": "Oleksandr", "family_name": "Shevchenko",
                            "birth_date": "1979-11-02"},
    )  # fmt: skip
    db.commit()
    with pytest.raises(cases.DuplicateCandidates) as caught:
        cases.create_case(
            db, make_user(), person={"given_name": "Alexander", "family_name": "Schewtschenko",
                                     "birth_date": "1979-02-11"},
        )  # fmt: skip
    (candidate,) = caught.value.candidates
    assert candidate["case_refs"] == [existing.reference]
    assert db.scalar(select(Person).where(Person.family_name == "Schewtschenko")) is None
