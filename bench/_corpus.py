"""A reproducible German-language corpus for the search benchmark, inserted in bulk.

Words are drawn with ``random.choices`` from a Zipf-weighted vocabulary: function
words, inflected verbs, nouns and adjectives, and thousands of generated compounds
(Sprachkurs, Integrationskursen, Aufenthaltserlaubnis, Wohnungssuche, …) with their
inflected forms, some typed without umlauts. Into that stream go fixed collocations
(for phrase queries), person names — German, Arabic, Ukrainian and Eritrean, in
several transliterations — and dates. Lengths are log-uniform between 200 and 2,000
words: many short notes, few long reports.

Rows go in with SQLAlchemy core (persons, cases, consents, documents, versions), so
that the index is built by the portal's own ``reindex_all``, not by this module. They
are generated and inserted CHUNK at a time (a million documents never sit in memory),
into one or several databases at once: the same seed gives the same rows in each.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

from sqlalchemy import insert, text

from portal.models import (
    FOCUS_AREAS,
    PHASES,
    Case,
    CaseNumberCounter,
    Consent,
    Document,
    DocumentVersion,
    Person,
    consent_organisations,
)

MIN_WORDS, MAX_WORDS = 200, 2000
DOCS_PER_CASE = 8
CHUNK = 2000
# The case benchmarks add their notes to (a year before the corpus's cases, so no clash).
BENCH_CASE_REFERENCE = "KIM-2021-00001"


def _words(text: str) -> list[str]:
    """The words of a whitespace-separated list."""
    return text.split()


FUNCTION = _words("""
der die das und in zu den mit von für auf ist im nicht ein eine als auch es an
werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum
war haben nur oder aber vor zur bis mehr durch man sein wurde sei kann können muss soll
wir ihr ihre ihren seine seiner dem des sich wieder jetzt bereits heute morgen dann""")

VERBS = _words("""
beantragt beantragen beantragte vereinbart vereinbarten besprochen besprach vermittelt
vermitteln begleitet begleiten erledigt eingereicht einreichen abgelehnt bewilligt bewilligte
teilgenommen teilnehmen angemeldet anmelden abgemeldet nachgereicht informiert informierte
unterstützt unterstützen beraten berät geklärt klären übersetzt übersetzen vorgelegt vorlegen
gesucht sucht gefunden findet wohnt wohnen arbeitet arbeiten lernt lernen besucht
besuchen erhalten erhält benötigt benötigen fehlt fehlen überprüft überprüfen weitergeleitet
zugesagt abgesagt verschoben verlängert verlängern ausgestellt ausstellen""")

NOUNS = _words("""
Termin Termine Terminen Antrag Anträge Anträgen Antrags Bescheid Bescheide Bescheids
Unterlagen Familie Familien Kind Kinder Kindern Kindes Schule Schulen Wohnung Wohnungen Arbeit
Ausbildung Beratung Gespräch Gespräche Gesprächs Behörde Behörden Jobcenter Ausländerbehörde
Ausländerbehoerde Raum Räume Räumen Raeume Mannigfaltigkeit Mannigfaltigkeiten Frau Herr Sohn
Tochter Ehemann Ehefrau Mutter Vater Arzt Ärztin Praxis Klinik Vermieter Miete Kaution Konto
Bank Pass Reisepass Visum Fiktionsbescheinigung Zeugnis Zeugnisse Abschluss Abschlüsse Beruf
Berufe Stelle Stellen Praktikum Praktika Arbeitgeber Vertrag Verträge Lehrerin Kita Kindergarten
Landkreis Stadt Gemeinde Bürgeramt Rathaus Straße Strasse Fahrkarte Deutschkenntnisse Frist
Fristen Nachweis Nachweise Übersetzung Dolmetscher Dolmetscherin Sprachmittlerin
Gutachten""")

ADJECTIVES = _words("""
dringend dringende dringenden zuständig zuständige zuständigen weitere weiteren
erfolgreich erfolgreiche aktuell aktuelle aktuellen neue neuen alte alten schwierig schwierige
vollständig vollständige unvollständig fehlende fehlenden gültig gültige abgelaufen abgelaufene
befristet befristete unbefristete regelmäßig regelmaessig gesundheitliche finanzielle
berufliche schulische sprachliche psychosoziale""")

FIRST = _words("""
Sprach Integrations Aufenthalts Wohnungs Kinder Arbeits Berufs Gesundheits Familien
Schul Ausbildungs Beratungs Jugend Sozial Melde Miet Förder Anerkennungs Asyl Bildungs
Betreuungs Frauen Eltern Haushalts Leistungs Verwaltungs Behörden Termin Versicherungs
Kranken Orientierungs Einbürgerungs Wohn Kita Hort Fahrt Kosten Unterhalts Renten Steuer
Einkommens Vermittlungs Qualifizierungs Praktikums Ehrenamts Paten Mentoring Begleit
Übersetzungs Dolmetsch Gruppen Einzel Abend Wochenend Ferien Sommer Nachhilfe Test""")

SECOND = _words("""
kurs erlaubnis suche betreuung amt stelle platz antrag bescheid beratung förderung
vertrag nachweis zeugnis prüfung gespräch angebot gruppe leistung zentrum schein karte
vermittlung mittler niveau zuschuss hilfe geld bedarf plan ziel termin frist unterlagen
versicherung schutz recht verfahren träger anmeldung abmeldung bestätigung bescheinigung
kosten zeit woche tag ort raum lehrer lehrerin klasse projekt programm maßnahme konzept
beauftragte koordination wechsel verlängerung aufnahme einstufung ergebnis""")

STREETS = _words("""
Linden Eichen Bahnhof Goethe Schiller Berliner Markt Garten Kirch Mühlen Schul
Rosen Birken Wiesen Feld Berg Bach Brunnen Hafen Post""")
STREET_KINDS = ("straße", "strasse", "weg", "platz", "allee", "gasse", "ring")

COLLOCATIONS = [
    "Termin beim Jobcenter", "Antrag auf Wohngeld", "Anerkennung des Berufsabschlusses",
    "Integrationskurs mit Kinderbetreuung", "Verlängerung der Aufenthaltserlaubnis",
    "Anmeldung in der Kita", "Suche nach einer Wohnung", "Ergebnis der Sprachprüfung",
    "Teilnahme am Integrationskurs", "Bescheid der Ausländerbehörde",
    "Übernahme der Kosten", "Gespräch mit der Lehrerin", "Bescheinigung für den Arbeitgeber",
    "Schulanmeldung des Sohnes", "Untersuchung beim Kinderarzt", "Kündigung der Wohnung",
    "Beratung zur Berufsanerkennung", "Unterlagen für die Einbürgerung",
    "Antrag auf Familiennachzug", "Anmeldung beim Bürgeramt", "Eröffnung eines Kontos",
    "Nachweis der Deutschkenntnisse", "Praktikum im Einzelhandel", "Ausbildung zur Pflegefachkraft",
    "Begleitung zum Termin", "Übersetzung der Zeugnisse", "Zuschuss zur Fahrkarte",
    "Wechsel in den Berufssprachkurs", "psychosoziale Beratung", "Einstufungstest im Sprachkurs",
    "Gutachten der Ärztin", "Mietvertrag unterschrieben", "Kaution vom Jobcenter",
    "Bewerbung als Erzieherin", "Hausaufgabenhilfe am Nachmittag", "Frist bis Ende des Monats",
    "Widerspruch gegen den Bescheid", "Kurs in Teilzeit", "Platz im Kindergarten",
    "Orientierungskurs abgeschlossen", "Deutschkurs auf Niveau B1", "Vorsprache bei der Behörde",
    "Leistungen nach dem Asylbewerberleistungsgesetz", "Beschäftigungserlaubnis erteilt",
    "Wohnberechtigungsschein beantragt", "Fiktionsbescheinigung ausgestellt",
    "Krankenversicherung geklärt", "Ehrenamtliche Patin begleitet", "Elterngespräch in der Schule",
    "Sprachmittlerin für Tigrinya", "Dolmetscher für Arabisch", "Zeugnisbewertung der ZAB",
    "Arbeitsvertrag befristet", "Jobcenter übernimmt die Kosten", "Schulbescheinigung fehlt",
    "Wohnungsbesichtigung am Montag", "Termin bei der Ausländerbehörde",
    "Antrag auf Kinderzuschlag", "Bildung und Teilhabe", "Räume der Beratungsstelle",
]  # fmt: skip

# (given names, family names) per origin; "A/B/C" are spellings of one name.
NAMES = {
    "de": (
        "Anna Lena Katharina Thomas Michael Stefan Jürgen Sabine Ursula Klaus Jörg Bärbel "
        "Günther Maximilian Sophie Lukas Jonas Marie Hannah Felix",
        "Müller Schmidt Schneider Fischer Weber Meyer/Meier Wagner Becker Schulz Hoffmann "
        "Schäfer Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun "
        "Krüger Hartmann Lange Krause Lehmann Köhler Jäger Groß Weiß",
    ),
    "ar": (
        "Mohammed/Muhammad/Mohamad/Mohamed Ahmad/Ahmed Mahmoud/Mahmud Mustafa/Mostafa "
        "Khaled/Khalid Omar/Umar Ali Hassan/Hasan Hussein/Husein/Hussain Youssef/Yusuf/Yousef "
        "Ibrahim Abdullah/Abdallah Walid/Waleed Fatima/Fatma Aisha/Aischa Zainab/Zeinab "
        "Mariam/Maryam Amina Layla/Leila/Laila Nour/Noor Rania Hiba Samira",
        "Al-Hassan/Alhassan Al-Ahmad Haddad Khalil Ibrahim Mansour/Mansur Nasser/Nasser "
        "Saleh/Salih Hamdan Darwish/Darwisch Abboud Suleiman/Sulaiman Qasim/Kassem/Kasim "
        "Al-Khatib/Alkhatib Othman/Osman Hammoud/Hamoud Jaber/Dschaber Shami/Schami",
    ),
    "uk": (
        "Oleksandr/Aleksandr/Alexander Olena/Elena Andriy/Andrij/Andrii Dmytro/Dmitri "
        "Serhiy/Sergej/Serhii Iryna/Irina Nataliya/Natalia Yuliia/Julia/Iuliia Viktoria "
        "Mykola/Nikolai Volodymyr/Wolodymyr Tetiana/Tatjana Oksana Svitlana/Swetlana "
        "Maksym/Maxim Bohdan Kateryna/Katerina",
        "Kovalenko/Kowalenko Shevchenko/Schewtschenko Bondarenko Tkachenko/Tkatschenko "
        "Kravchenko/Krawtschenko Melnyk/Melnik Boyko/Boiko Koval/Kowal Oliynyk/Olijnyk "
        "Lysenko Moroz Savchenko/Sawtschenko Marchenko Rudenko Petrenko "
        "Kovalchuk/Kowaltschuk Polishchuk Tkachuk Hrytsenko/Grizenko",
    ),
    "er": (
        "Yonas/Jonas Tesfay/Tesfaye Haile/Hayle Abraham Mehari Kidane Semere "
        "Yohannes/Johannes Tekle/Teklay Senait/Senayt Helen Freweyni Mebrat Selam Lidya "
        "Rahwa Aster Yordanos Filmon Dawit/Dawid",
        "Tesfamariam Gebremedhin/Ghebremedhin Gebreyesus/Ghebreyesus Woldemichael/Weldemichael "
        "Kidane Berhane/Berhe Habte Mehari Andemariam Tsegai/Tsegay Asmerom Gebrehiwet Fisseha "
        "Tesfamichael Haile",
    ),
}
ORIGIN_WEIGHTS = {"de": 1, "ar": 4, "uk": 3, "er": 2}


def _names(spec: str) -> list[list[str]]:
    return [entry.split("/") for entry in spec.split()]


NAME_POOLS = {origin: tuple(map(_names, pair)) for origin, pair in NAMES.items()}


def _inflections(word: str) -> list[str]:
    """A few inflected forms of a generated compound noun."""
    if word.endswith(("e", "er", "el")):
        return [word, word + "n"]
    if word.endswith(("ung", "heit", "keit", "erlaubnis", "nis", "zeit")):
        return [word, word + "en"] if not word.endswith("nis") else [word, word + "se"]
    return [word, word + "s", word + "e", word + "en"]


def _fold(word: str) -> str:
    """The spelling without umlauts (as typed on a foreign keyboard)."""
    return word.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """All word forms and their cumulative weights (Zipf over content words)."""
    compounds = sorted({f + s for f in FIRST for s in SECOND})
    triples = sorted({rng.choice(FIRST) + rng.choice(FIRST).lower() + rng.choice(SECOND)
                      for _ in range(3000)})  # fmt: skip
    content = []
    for word in compounds + triples:
        content.extend(_inflections(word))
    content += [_fold(w) for w in rng.sample(content, len(content) // 20)]
    content += NOUNS + VERBS + ADJECTIVES
    content += [street + kind for street in STREETS for kind in STREET_KINDS]
    rng.shuffle(content)
    weights = [1.0 / (rank + 5) for rank in range(len(content))]
    share = sum(weights)  # function words make up a third of the running text
    per_function = share * 0.5 / len(FUNCTION)
    words = FUNCTION + content
    return words, list(accumulate([per_function] * len(FUNCTION) + weights))


def person(rng: random.Random) -> dict:
    """A person with a name from one of the origins and its other spellings as aliases."""
    origin = rng.choices(list(ORIGIN_WEIGHTS), weights=list(ORIGIN_WEIGHTS.values()))[0]
    given_pool, family_pool = NAME_POOLS[origin]
    given, family = rng.choice(given_pool), rng.choice(family_pool)
    aliases = [f"{g} {family[0]}" for g in given[1:]] + [f"{given[0]} {f}" for f in family[1:]]
    year = rng.randint(1950, 2020)
    return {
        "given_name": given[0], "family_name": family[0], "aliases": aliases,
        "birth_year": year, "birth_month": rng.randint(1, 12), "birth_day": rng.randint(1, 28),
    }  # fmt: skip


class TextMaker:
    """Document bodies and titles from the seeded vocabulary."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words, self.cum_weights = vocabulary(rng)
        self.compounds = [w for w in self.words[len(FUNCTION) :] if len(w) > 10]

    def length(self) -> int:
        """Log-uniform between MIN_WORDS and MAX_WORDS."""
        low, high = math.log(MIN_WORDS), math.log(MAX_WORDS)
        return int(math.exp(self.rng.uniform(low, high)))

    def body(self, names: list[str], when: date) -> str:
        """Running text with the person's and other people's names, dates and collocations."""
        rng = self.rng
        n = self.length()
        words = rng.choices(self.words, cum_weights=self.cum_weights, k=n)
        for _ in range(max(1, n // 150)):
            words[rng.randrange(n)] = rng.choice(names)
        for _ in range(max(1, n // 200)):
            day = when - timedelta(days=rng.randint(0, 400))
            words[rng.randrange(n)] = f"am {day:%d.%m.%Y}"
        for _ in range(max(1, n // 100)):
            words[rng.randrange(n)] = rng.choice(COLLOCATIONS)
        return ". ".join(" ".join(words[i : i + 12]) for i in range(0, n, 12)) + "."

    def title(self, kind: str, when: date) -> str:
        """E.g. "Vermerk Wohnungssuche 12.03.2025"."""
        label = {"note": "Vermerk", "assessment": "Kompetenzfeststellung",
                 "agreement": "Integrationsvereinbarung", "file": "Scan"}[kind]  # fmt: skip
        return f"{label} {self.rng.choice(self.compounds)} {when:%d.%m.%Y}"


def _moment(rng: random.Random) -> datetime:
    start = datetime(2022, 1, 1, 8, tzinfo=UTC)
    return start + timedelta(days=rng.randint(0, 1420), minutes=rng.randint(0, 600))


def insert_corpus(sessions, docs: int, org_ids: list[int], user_id: int, seed: int) -> None:
    """Persons, cases (some with consents), ``docs`` documents and their versions, the same
    rows in each of ``sessions``."""
    rng = random.Random(seed)
    maker = TextMaker(rng)
    n_cases = max(1, docs // DOCS_PER_CASE)
    case_names = _insert_cases(sessions, rng, n_cases, org_ids, user_id)
    lead_weights = [3] + [1] * (len(org_ids) - 1)
    for start in range(0, docs, CHUNK):
        documents, versions = [], []
        for doc_id in range(start + 1, min(docs, start + CHUNK) + 1):
            case_id = rng.randint(1, n_cases)
            documents_row, version_rows = _document(
                rng, maker, doc_id, case_id, case_names[case_id], org_ids, lead_weights, user_id
            )
            documents.append(documents_row)
            versions.extend(version_rows)
        _insert(sessions, (Document, documents), (DocumentVersion, versions))
    _insert_bench_case(sessions, n_cases + 1, org_ids[0], user_id)


def _insert_bench_case(sessions, case_id: int, organisation_id: int, user_id: int) -> None:
    """A case of the first organisation for the notes a benchmark adds, its person named so
    that no generated query finds it: the corpus the queries see stays the same."""
    at = datetime(2021, 1, 4, 8, tzinfo=UTC)
    person_row = {"id": case_id, "given_name": "Bench", "family_name": "Messung", "aliases": [],
                  "birth_year": 1990, "birth_month": 1, "birth_day": 1}  # fmt: skip
    case = {
        "id": case_id, "reference": BENCH_CASE_REFERENCE, "person_id": case_id,
        "lead_organisation_id": organisation_id, "phase": PHASES[0],
        "focus_areas": [FOCUS_AREAS[0]], "created_by_id": user_id, "created_at": at,
        "updated_at": at,
    }  # fmt: skip
    _insert(sessions, (Person, [person_row]), (Case, [case]))


def _insert(sessions, *tables) -> None:
    """Insert and commit (table, rows) pairs in every session."""
    for session in sessions:
        for table, rows in tables:
            if rows:
                session.execute(insert(table), rows)
        session.commit()


def _insert_cases(sessions, rng, n_cases, org_ids, user_id) -> dict[int, list[str]]:
    """Persons and cases; 40 % of cases released to 1–3 more organisations. Returns the
    names each case's documents mention."""
    names, years = {}, {}
    lead_weights = [3] + [1] * (len(org_ids) - 1)
    for first in range(1, n_cases + 1, CHUNK):
        persons, cases, consents, links = [], [], [], []
        for case_id in range(first, min(n_cases, first + CHUNK - 1) + 1):
            p = person(rng)
            persons.append({"id": case_id, **p})
            at = _moment(rng)
            years[at.year] = years.get(at.year, 0) + 1
            lead = rng.choices(org_ids, weights=lead_weights)[0]
            cases.append({
                "id": case_id, "reference": f"KIM-{at.year}-{years[at.year]:05d}",
                "person_id": case_id, "lead_organisation_id": lead, "phase": rng.choice(PHASES),
                "focus_areas": rng.sample(FOCUS_AREAS, rng.randint(1, 3)),
                "created_by_id": user_id, "created_at": at, "updated_at": at,
            })  # fmt: skip
            full = f"{p['given_name']} {p['family_name']}"
            names[case_id] = [full, full, p["family_name"], *p["aliases"], _other_name(rng)]
            if rng.random() < 0.4:
                consent_id = case_id  # at most one per case
                consents.append({
                    "id": consent_id, "case_id": case_id, "purpose": "Zusammenarbeit",
                    "valid_from": at.date(), "recorded_at": at, "recorded_on": at.date(),
                    "revoked_at": at + timedelta(days=90) if rng.random() < 0.1 else None,
                })  # fmt: skip
                others = rng.sample([o for o in org_ids if o != lead], rng.randint(1, 3))
                links += [{"consent_id": consent_id, "organisation_id": o} for o in others]
        _insert(sessions, (Person, persons), (Case, cases), (Consent, consents),
                (consent_organisations, links))  # fmt: skip
    counters = [{"year": y, "last_number": n} for y, n in sorted(years.items())]
    _insert(sessions, (CaseNumberCounter, counters))
    return names


# Every id sequence of the schema moved past the largest id in its table.
_ADVANCE_SEQUENCES = """
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), 'id') AS seq
           FROM information_schema.columns
           WHERE table_schema = current_schema() AND column_name = 'id' LOOP
    IF r.seq IS NOT NULL THEN
      EXECUTE format('SELECT setval(%L, (SELECT coalesce(max(id), 0) + 1 FROM %I), false)',
                     r.seq, r.table_name);
    END IF;
  END LOOP;
END $$
"""


def advance_sequences(session) -> None:
    """PostgreSQL: rows created later (through the API) get new ids, after the ones
    inserted explicitly here."""
    session.execute(text(_ADVANCE_SEQUENCES))
    session.commit()


def _other_name(rng: random.Random) -> str:
    """A relative, a caseworker or an interpreter mentioned in the text."""
    given_pool, family_pool = NAME_POOLS[rng.choice(list(NAME_POOLS))]
    return f"{rng.choice(rng.choice(given_pool))} {rng.choice(rng.choice(family_pool))}"


def _document(rng, maker, doc_id, case_id, names, org_ids, lead_weights, user_id):
    """A document row and its one or two version rows."""
    kind = rng.choices(("note", "assessment", "agreement", "file"), weights=(60, 15, 10, 15))[0]
    at = _moment(rng)
    author = rng.choices(org_ids, weights=lead_weights)[0]
    title = maker.title(kind, at.date())
    body = maker.body(names, at.date())
    version_count = 2 if rng.random() < 0.1 else 1
    document = {
        "id": doc_id, "case_id": case_id, "type": kind, "title": title,
        "visibility": "internal" if rng.random() < 0.1 else "case",
        "author_organisation_id": author, "created_by_id": user_id, "created_at": at,
        "updated_at": at, "current_version": version_count,
    }  # fmt: skip
    versions = []
    for number in range(1, version_count + 1):
        text = body if number == version_count else body[body.find(". ") + 2 :]
        versions.append({
            "document_id": doc_id, "number": number, "author_id": user_id,
            "organisation_id": author, "created_at": at + timedelta(days=number - 1),
            "title": title, "text": text if kind == "note" else None,
            "filename": f"scan_{doc_id}.pdf" if kind == "file" else None,
            "extracted_text": text, "extraction": "done",
        })  # fmt: skip
    return document, versions
