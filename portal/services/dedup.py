"""„Gibt es die Person schon?“ — finding persons who probably exist already.

A new case must not open a parallel file for someone the network already looks
after. Names of newly arrived people reach the portal in many spellings
(passport transliteration, German phonetic spelling, typos, the article
``al-`` dropped or fused, given and family name swapped), so the check compares

* **names**, normalised: case, accents and umlauts folded, hyphens and particles
  (``al-``/``el-``/``Al ``, sun-letter forms like ``ad-``, ``bin``/``ben``/``ibn``)
  handled, and transliteration variants mapped to one canonical spelling
  (``sch``/``sh``, ``tsch``/``ch``, ``kh``/``ch``, ``w``/``v``, ``y``/``j``,
  ``ou``/``u``, ``ei``/``ai``, double letters, ...), plus a small table of
  national forms of the same given name (Oleksandr/Aleksandr/Alexander);
* **fuzzy similarity** of the canonical names and of vowel skeletons (rapidfuzz),
  because transliterations of Arabic and Tigrinya mostly differ in the vowels
  (Mohammed/Muhammad, Khaled/Khalid), together with the **Kölner Phonetik** code;
* the stored **other spellings** (``Person.aliases``) and **swapped** given and
  family names;
* **birth dates**: exact, day and month swapped, or the same year when a part is
  unknown (year only, year and month, the ``01.01.`` placeholder); a different
  year rules the person out;
* the **gender**, when both sides know it, as a mild counter-indication.

The scoring is a pure function on dicts (:func:`match_score`, :func:`rank`) so that
the benchmark (``bench/dedup.py``) and the unit tests run it without a database;
:func:`find_candidates` adds the two queries. Only metadata leaves this module
(person id, score, case references, lead organisation): the check works across
agencies without revealing any document content.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel
from sqlalchemy import Text, cast, exists, or_, select
from sqlalchemy.orm import Session

from portal.models import Case, Organisation, Person

THRESHOLD = 0.85
"""Candidates scoring below this are not shown; tuned with ``bench/dedup.py``."""
MAX_CANDIDATES = 10
PREFILTER_CUTOFF = 62
"""rapidfuzz ratio (0..100) of the loosest family-name keys (see _block_keys) below which
a stored person is not scored in detail. The benchmark checks that no pair reaching
THRESHOLD falls below it."""
PREFILTER_FROM = 300
"""Fewer stored persons than this are scored exhaustively."""

# Weights of the partial evidence (see _string_sim, _date_factor, match_score).
_SKELETON_WEIGHT = 0.95  # vowel classes merged: a/e or e/i, o/u
_PHONETIC_BONUS = 0.03  # equal Kölner Phonetik code
_BARE_WEIGHT = 0.98  # equal only without the article (Al-Hassan / Hassan)
_SWAP_WEIGHT = 0.98  # given and family name swapped
_ORDER_FREE_WEIGHT = 0.97  # the same name tokens, split differently into given/family
_SUBSET_WEIGHT = 0.90  # one name's tokens (at least two) all found in the other's
_EXTRA_GIVEN_WEIGHT = 0.96  # a second given name on one side only
_GENDER_MISMATCH = 0.85


# ---------------------------------------------------------------- Kölner Phonetik

_KOELNER_FIXED = {
    **dict.fromkeys("aeijouy", "0"),
    "h": "",
    "b": "1",
    **dict.fromkeys("fvw", "3"),
    **dict.fromkeys("gkq", "4"),
    "l": "5",
    "m": "6",
    "n": "6",
    "r": "7",
    "s": "8",
    "z": "8",
}
_C_HARD_INITIAL = frozenset("ahkloqrux")
_C_HARD = frozenset("ahkoqux")


def koelner_digits(text: str) -> str:
    """The Kölner Phonetik code of every letter, before merging and removing zeros.

    ``koelner_digits("Müller-Lüdenscheidt") == "60550750206880022"`` (H has no code).
    """
    letters = [c for c in _phonetic_fold(text) if "a" <= c <= "z"]
    codes = []
    for i, c in enumerate(letters):
        before = letters[i - 1] if i else ""
        after = letters[i + 1] if i + 1 < len(letters) else ""
        if c in _KOELNER_FIXED:
            code = _KOELNER_FIXED[c]
        elif c == "p":
            code = "3" if after == "h" else "1"
        elif c in "dt":
            code = "8" if after and after in "csz" else "2"
        elif c == "c":
            if i == 0:
                code = "4" if after in _C_HARD_INITIAL else "8"
            elif before in ("s", "z"):
                code = "8"
            else:
                code = "4" if after in _C_HARD else "8"
        else:  # x
            code = "8" if before and before in "ckq" else "48"
        codes.append(code)
    return "".join(codes)


def koelner_phonetik(text: str) -> str:
    """The Kölner Phonetik (Postel 1969) of ``text``: ``"Müller-Lüdenscheidt"`` → ``"65752682"``.

    Letters are coded by their context, runs of the same digit merged, and every
    ``0`` removed except at the start.
    """
    merged = []
    for digit in koelner_digits(text):
        if not merged or merged[-1] != digit:
            merged.append(digit)
    return "".join(d for i, d in enumerate(merged) if d != "0" or i == 0)


def _phonetic_fold(text: str) -> str:
    text = text.lower().replace("ß", "s")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


# ---------------------------------------------------------------- normalisation

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie",
    "ё": "io", "ж": "zh", "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ь": "", "ъ": "", "ы": "y", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
_FOLD = str.maketrans(
    {
        "ß": "ss", "ẞ": "ss", "ı": "i", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d",
        "ł": "l", "þ": "th", "ð": "d", "š": "sh", "č": "ch", "ž": "zh",
        **dict.fromkeys("'’‘`´ʼʻʿʾ", ""),
        **_CYRILLIC,
    }
)  # fmt: skip
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower case ASCII words: accents and umlauts folded to the base letter, Cyrillic
    transliterated, apostrophes dropped, hyphens and other separators made spaces."""
    text = text.lower().translate(_FOLD)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NON_ALNUM.sub(" ", text).split())


# Spelling rules, applied in this order to each folded word: every variant of a
# sound becomes one canonical spelling. Plain strings are replaced as they are,
# compiled patterns as regular expressions where the word contains the third item.
_RULES: list[tuple[str, str] | tuple[re.Pattern, str, str]] = [
    ("schtsch", "shch"),  # German щ
    ("tsch", "ch"),  # German ч / Turkish ç
    ("dsch", "j"),  # German and French spellings of English j (Dschamal, Djamal)
    ("dzh", "j"),
    ("dj", "j"),
    ("sch", "sh"),
    ("zh", "sh"),
    ("kh", "ch"),  # Khaled/Chaled, Mykhailo/Mychajlo
    ("ph", "f"),
    ("th", "t"),
    ("dh", "d"),  # Ghebremedhin/Gebremedhin
    ("gh", "g"),
    (re.compile("^chr"), "kr", "chr"),
    ("ck", "k"),
    ("q", "k"),  # Qassem/Kassem
    (re.compile("c(?![ehiy])"), "k", "c"),
    ("w", "v"),  # Kowalenko/Kovalenko
    ("x", "ks"),  # Alexander/Aleksandr
    (re.compile("y(?=[aeiou])"), "j", "y"),  # Yusuf/Jusuf, Yohannes/Johannes
    ("y", "i"),  # Tesfay/Tesfai, Iryna/Irina
    (re.compile("(?<=[aeiou])j(?![aeiou])"), "i", "j"),  # Andrej/Andrei, Mychajlo
    (re.compile("(?<=i)j(?=[aeou])"), "", "ij"),  # Marija/Maria, Natalija
    ("ae", "a"),  # umlauts spelled out: Baecker/Bäcker/Backer
    ("oe", "o"),
    ("ue", "u"),  # Mueller/Müller/Muller
    ("ou", "u"),  # Youssef/Yusuf
    ("oo", "u"),  # Noori/Nuri
    ("ee", "i"),  # Saeed/Said, Fareed/Farid
    ("ei", "ai"),  # Hussein/Hussain, Zeinab/Zainab, Tesfay/Tesfai
    (re.compile("(?<=[aeiou])h$"), "", "h"),  # Abdullah/Abdulla, Fatemeh
    (re.compile(r"(.)\1+"), r"\1", ""),  # Hassan/Hasan, Mohammed/Mohamed, Yohannes/Yohanes
]
_ABD = re.compile(r"^abd(?:[aeiou]l|[aeiou](?=[rstnzd]))")  # Abdul/Abdel/Abd al-/Abdur- Rahman
_ARTICLES = frozenset({"al", "el", "il", "ul"})
_SUN_ARTICLES = frozenset(
    {"ad", "an", "ar", "as", "ash", "at", "az", "ath", "adh", "ed", "en", "er", "es", "et", "ez"}
)
_FILIATION = frozenset({"bin", "ben", "ibn", "bint", "binti", "ould"})
_FUSED_ARTICLE = re.compile(r"^[ae]l(?=[bcdfghjklmnpqrstvwxz])")

# National forms and transliterations of the same given name that spelling rules
# cannot bridge (Ukrainian/Russian pairs, Hebrew/Arabic/German forms).
_EQUIVALENT_GIVEN_NAMES = (
    "oleksandr aleksandr alexander alexandr oleksander olexandr",
    "volodymyr vladimir wladimir",
    "mykola nikolai nikolaj nicolai mikola",
    "serhii serhiy sergei sergey sergej sergiy",
    "andrii andriy andrei andrey andrej",
    "oleksii oleksiy aleksei alexei aleksej alexey olexiy",
    "dmytro dmitri dmitry dmitrij",
    "yurii yuriy yuri jurij yury juri",
    "ihor igor",
    "oleh oleg",
    "olha olga",
    "hanna anna ganna",
    "olena elena jelena yelena alena",
    "tetiana tatiana tatjana tatyana tetyana",
    "kateryna ekaterina katerina jekaterina yekaterina",
    "halyna galina",
    "bohdan bogdan",
    "mykhailo mikhail michail mychajlo mikhailo",
    "yevhen evgeny evgenij jewgeni yevgeniy yevgen",
    "petro pyotr petr pjotr",
    "pavlo pavel pawel",
    "vasyl vasily wassili vasiliy vasili",
    "hryhorii grigory grigorij hryhoriy",
    "liudmyla lyudmila ludmila ljudmila",
    "svitlana svetlana swetlana",
    "yusuf yousef youssef yosef josef joseph yousif jusuf yusef",
    "yohannes johannes yohanes",
    "ibrahim ebrahim ibraheem",
)


@dataclass(frozen=True, slots=True)
class Spelling:
    """One canonical spelling of a name part with its comparison keys."""

    canon: str
    skeleton_ae: str  # a and e merged, o and u merged, z and s merged
    skeleton_ei: str  # e and i merged, o and u merged, z and s merged
    phonetic: str


@dataclass(frozen=True, slots=True)
class Part:
    """A given or family name: the canonical tokens, and spellings with and without the
    article (``al``)."""

    tokens: tuple[str, ...]
    full: Spelling
    bare: Spelling | None  # None when there is no article


def _canonical_word(word: str) -> str:
    for rule in _RULES:
        if len(rule) == 2:
            word = word.replace(*rule)
        elif rule[2] in word:
            word = rule[0].sub(rule[1], word)
    return word


def _build_equivalents() -> dict[str, str]:
    table = {}
    for line in _EQUIVALENT_GIVEN_NAMES:
        forms = [_canonical_word(w) for w in line.split()]
        for form in forms:
            table[form] = forms[0]
    return table


_EQUIVALENTS = _build_equivalents()


def _words(text: str) -> tuple[list[str], bool]:
    """Canonical words of a name part without particles; whether it had an article."""
    raw = fold(text).split()
    words: list[str] = []
    article = False
    for i, word in enumerate(raw):
        following = raw[i + 1] if i + 1 < len(raw) else ""
        if following and (
            word in _ARTICLES
            or word in _FILIATION
            or (word in _SUN_ARTICLES and following.startswith(word[1:]))
        ):
            article = article or (i == 0 and word not in _FILIATION)
            continue
        word = _ABD.sub("abd", _canonical_word(word))
        words.append(_EQUIVALENTS.get(word, word))
    return words, article


@lru_cache(maxsize=1 << 16)
def _spelling(text: str) -> Spelling:
    skeleton = text.replace("o", "u").replace("z", "s")
    return Spelling(
        canon=text,
        skeleton_ae=_squeeze(skeleton.replace("e", "a")),
        skeleton_ei=_squeeze(skeleton.replace("e", "i")),
        phonetic=koelner_phonetik(text),
    )


def _loose(text: str) -> str:
    return _squeeze(_LOOSE_VOWELS.sub("a", text.replace("o", "u").replace("z", "s")))


_LOOSE_VOWELS = re.compile("[aei]")
_REPEATS = re.compile(r"(.)\1+")


def _squeeze(text: str) -> str:
    return _REPEATS.sub(r"\1", text)


@lru_cache(maxsize=1 << 16)
def _tokens(text: str, family: bool) -> tuple[tuple[str, ...], bool]:
    """Canonical words of a given or family name, and whether it had an article."""
    words, article = _words(text)
    if family and words and _FUSED_ARTICLE.match(words[0]) and len(words[0]) >= 6:
        article = True  # Alhassan, Elmasri
        words[0] = words[0][2:]
    return tuple(words), article


@lru_cache(maxsize=1 << 16)
def name_part(text: str, family: bool) -> Part:
    """The comparison form of a given (``family=False``) or family name, cached."""
    tokens, article = _tokens(text, family)
    bare = "".join(tokens)
    if article:
        return Part(tokens, _spelling("al" + bare), _spelling(bare))
    return Part(tokens, _spelling(bare), None)


def normalise_name(name: str) -> str:
    """The canonical spelling of a name, words separated by spaces.

    ``normalise_name("Müller") == normalise_name("Mueller") == normalise_name("Muller")``;
    particles are dropped: ``normalise_name("Al-Hassan") == "hasan"``.
    """
    return " ".join(_words(name)[0])


def _string_sim(a: Spelling, b: Spelling) -> float:
    if a.canon == b.canon:
        return 1.0
    if not a.canon or not b.canon:
        return 0.0
    score = max(
        Indel.normalized_similarity(a.canon, b.canon),
        _SKELETON_WEIGHT * Indel.normalized_similarity(a.skeleton_ae, b.skeleton_ae),
        _SKELETON_WEIGHT * Indel.normalized_similarity(a.skeleton_ei, b.skeleton_ei),
    )
    if a.phonetic == b.phonetic:
        score = min(score + _PHONETIC_BONUS, 0.99)
    return score


def part_similarity(a: Part, b: Part) -> float:
    """0..1: how alike two given names (or two family names) are.

    The article is no evidence when both have it (Al-Ali and Al-Halabi are compared as
    Ali and Halabi); when only one has it, it costs a little.
    """
    if a.bare and b.bare:
        return _string_sim(a.bare, b.bare)
    score = _string_sim(a.full, b.full)
    if score < 1.0 and (a.bare or b.bare):
        bare = _BARE_WEIGHT * _string_sim(a.bare or a.full, b.bare or b.full)
        score = max(score, bare)
    return score


def name_similarity(given_a: str, family_a: str, given_b: str, family_b: str) -> float:
    """0..1: how alike two full names are, allowing swapped given and family names."""
    return _name_score(_Name.of(given_a, family_a), _Name.of(given_b, family_b))


# ---------------------------------------------------------------- birth dates

_UNKNOWN_DATE = 0.93  # one side has no birth date at all
_SAME_MONTH = 0.90  # same year and month, the day differs
_SAME_YEAR = 0.80  # same year, month and day differ


def _date_factor(a: tuple, b: tuple) -> float:
    """How well two (year, month, day) birth dates agree: 0 rules the pair out."""
    ya, ma, da = a
    yb, mb, db = b
    if ya is None or yb is None:
        return _UNKNOWN_DATE
    if ya != yb:
        return 0.0
    if (ma, da) == (1, 1) or (mb, db) == (1, 1):
        ma = da = mb = db = None  # "01.01." stands in for an unknown date
    if ma is None or mb is None:
        return 1.0
    if da is None or db is None:
        known_day = da if db is None else db
        other_month = mb if db is None else ma
        if ma == mb:
            return 1.0
        return 0.95 if known_day == other_month else _SAME_YEAR
    if (ma, da) == (mb, db) or (ma, da) == (db, mb):
        return 1.0
    return _SAME_MONTH if ma == mb else _SAME_YEAR


def birth_date_agreement(a: dict, b: dict) -> float:
    """0..1 for two persons' (partial) birth dates; 0 when the years differ."""
    return _date_factor(_date(a), _date(b))


def birth_dates_agree(a: dict, b: dict) -> bool:
    """True unless both birth years are known and differ."""
    return birth_date_agreement(a, b) > 0


def _date(person: dict) -> tuple:
    return person.get("birth_year"), person.get("birth_month"), person.get("birth_day")


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True, slots=True)
class _Name:
    """One way of writing a person's name: structured, or only as a set of tokens."""

    given: Part | None
    family: Part | None
    raw: tuple[str, str]
    tokens: tuple[str, ...]  # canonical tokens of the whole name

    @staticmethod
    @lru_cache(maxsize=1 << 16)
    def of(given: str, family: str) -> _Name:
        g, f = name_part(given, False), name_part(family, True)
        return _Name(g, f, (given, family), g.tokens + f.tokens)

    @staticmethod
    @lru_cache(maxsize=1 << 14)
    def unstructured(text: str) -> _Name:
        return _Name(None, None, ("", text), tuple(_words(text)[0]))


@dataclass(frozen=True, slots=True)
class _Profile:
    names: tuple[_Name, ...]


@lru_cache(maxsize=1 << 15)
def _profile(given: str, family: str, aliases: tuple[str, ...]) -> _Profile:
    primary = _Name.of(given, family)
    names = [primary]
    for alias in aliases:
        # an alias may be another spelling of the family name, of the given name,
        # or a whole name
        names.append(_Name.of(given, alias))
        names.append(_Name.of(alias, family))
        if len(alias.split()) > 1:
            names.append(_Name.unstructured(alias))
    return _Profile(tuple(names))


def _combine(given: float, family: float) -> float:
    """Both parts must agree: the mean, pulled down by the weaker part."""
    low = min(given, family)
    return (given + family) / 2 - 0.5 * max(0.0, 0.75 - low)


def _name_score(a: _Name, b: _Name, memo: dict | None = None) -> float:
    """0..1 for two ways of writing a name. ``memo`` keeps part similarities across the
    persons of one search (family and given names repeat a lot)."""
    memo = {} if memo is None else memo
    best = 0.0
    structured = a.given and a.family and b.given and b.family
    if structured:
        straight = _combine(
            _memoised(memo, _given_similarity, a.given, b.given),
            _memoised(memo, part_similarity, a.family, b.family),
        )
        if straight >= 1.0:
            return 1.0
        # swapped: each name read in the role of the slot it is compared with
        swapped = _SWAP_WEIGHT * _combine(
            _memoised(memo, _given_similarity, name_part(a.raw[1], False), b.given),
            _memoised(memo, part_similarity, name_part(a.raw[0], True), b.family),
        )
        best = max(straight, swapped)
    # one given and one family name on both sides: straight and swapped said it all
    simple = structured and len(a.tokens) == len(b.tokens) == 2
    if best < _ORDER_FREE_WEIGHT and not simple and len(a.tokens) >= 2 and len(b.tokens) >= 2:
        best = max(best, _order_free(a.tokens, b.tokens, memo))
    return best


def _memoised(memo: dict, function, a: Part, b: Part) -> float:
    key = (function, id(a), id(b))
    hit = memo.get(key)
    if hit is not None and hit[1] is a and hit[2] is b:
        return hit[0]
    value = function(a, b)
    memo[key] = (value, a, b)
    return value


def _given_similarity(a: Part, b: Part) -> float:
    """Given names; a second given name on one side only (the father's name in a name
    chain: Yohannes Tesfay / Yohannes) costs a little."""
    score = part_similarity(a, b)
    if score < 1.0 and len(a.tokens) != len(b.tokens) and a.tokens and b.tokens:
        short, long = sorted((a.tokens, b.tokens), key=len)
        prefix = _string_sim(_spelling("".join(short)), _spelling("".join(long[: len(short)])))
        score = max(score, _EXTRA_GIVEN_WEIGHT * prefix)
    return score


def _order_free(a: Sequence[str], b: Sequence[str], memo: dict) -> float:
    """The name tokens paired regardless of order and of the given/family split; when one
    side has more tokens, all tokens of the other must be found."""
    short, long = sorted((a, b), key=len)
    remaining = list(long)
    scores = []
    for token in short:
        sims = []
        for other in remaining:
            sim = memo.get((token, other))
            if sim is None:
                sim = memo[(token, other)] = _string_sim(_spelling(token), _spelling(other))
            sims.append(sim)
        best = max(range(len(sims)), key=sims.__getitem__)
        scores.append(sims[best])
        remaining.pop(best)
    low = min(scores)
    score = sum(scores) / len(scores) - 0.5 * max(0.0, 0.75 - low)
    return score * (_ORDER_FREE_WEIGHT if not remaining else _SUBSET_WEIGHT)


def _profile_of(person: dict) -> _Profile:
    return _profile(
        person.get("given_name") or "",
        person.get("family_name") or "",
        tuple(person.get("aliases") or ()),
    )


def _gender_factor(a: dict, b: dict) -> float:
    ga, gb = a.get("gender"), b.get("gender")
    if ga in ("female", "male") and gb in ("female", "male") and ga != gb:
        return _GENDER_MISMATCH
    return 1.0


def _score(query: dict, q: _Profile, person: dict, p: _Profile, memo: dict | None = None) -> float:
    dates = _date_factor(_date(query), _date(person))
    if not dates:
        return 0.0
    names = 0.0
    for a in q.names:
        for b in p.names:
            names = max(names, _name_score(a, b, memo))
            if names >= 1.0:
                break
    return names * dates * _gender_factor(query, person)


def match_score(a: dict, b: dict) -> float:
    """0..1: how likely two person records describe the same person.

    The dicts carry ``given_name``, ``family_name`` and optionally ``aliases``,
    ``birth_year``/``birth_month``/``birth_day`` and ``gender``.
    """
    return _score(a, _profile_of(a), b, _profile_of(b))


_FIELDS = (
    "given_name", "family_name", "aliases", "birth_year", "birth_month", "birth_day", "gender"
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Columns:
    """Stored persons column by column: a handful of long sequences instead of one
    container per person, which keeps the garbage collector quiet on big scans."""

    given_name: Sequence[str]
    family_name: Sequence[str]
    aliases: Sequence[Sequence[str]]
    birth_year: Sequence[int | None]
    birth_month: Sequence[int | None]
    birth_day: Sequence[int | None]
    gender: Sequence[str | None]

    @staticmethod
    def of(persons: Sequence[dict]) -> _Columns:
        return _Columns(*([p.get(name) for p in persons] for name in _FIELDS))

    def __len__(self) -> int:
        return len(self.family_name)

    def person(self, i: int) -> dict:
        return {name: getattr(self, name)[i] for name in _FIELDS}


def rank(
    query: dict,
    persons: Sequence[dict],
    *,
    threshold: float | None = None,
    limit: int | None = MAX_CANDIDATES,
    prefilter: bool = True,
) -> list[tuple[float, dict]]:
    """The stored ``persons`` that probably are ``query``: (score, person), best first.

    Birth years rule out most persons at once; of many remaining, one rapidfuzz pass
    over their names (in C) picks the few that are scored in detail.
    """
    ranked = _rank(query, _Columns.of(persons), threshold, limit, prefilter)
    return [(score, persons[i]) for score, i in ranked]


def _rank(
    query: dict, columns: _Columns, threshold: float | None, limit: int | None, prefilter: bool
) -> list[tuple[float, int]]:
    threshold = THRESHOLD if threshold is None else threshold
    year = query.get("birth_year")
    if year is None:
        indices: Sequence[int] = range(len(columns))
    else:
        indices = [i for i, y in enumerate(columns.birth_year) if y is None or y == year]
    if prefilter and len(indices) >= PREFILTER_FROM:
        indices = _prefilter(query, columns, indices)
    q = _profile_of(query)
    scored = []
    memo: dict = {}
    for i in indices:
        person = columns.person(i)
        score = _score(query, q, person, _profile_of(person), memo)
        if score >= threshold:
            scored.append((score, i))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return scored[:limit]


@lru_cache(maxsize=1 << 16)
def _block_keys(text: str) -> tuple[str, ...]:
    """The loosest forms of a name (canonical, article dropped, a/e/i and o/u and z/s
    alike): the whole name, and each word of a name of several words."""
    tokens, _article = _tokens(text, True)
    keys = [_loose("".join(tokens))]
    if len(tokens) > 1:
        keys.extend(_loose(token) for token in tokens)
    return tuple(dict.fromkeys(keys))


def _query_keys(query: dict) -> list[str]:
    keys = [
        *_block_keys(query.get("given_name") or ""),
        *_block_keys(query.get("family_name") or ""),
    ]
    for alias in query.get("aliases") or ():
        keys.extend(_block_keys(alias))
    return list(dict.fromkeys(keys))


def _person_keys(person: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Keys of the family-name side and of the given-name side; aliases count for both."""
    family = _block_keys(person.get("family_name") or "")
    given = _block_keys(person.get("given_name") or "")
    aliases = person.get("aliases")
    if aliases:
        extra = tuple(key for alias in aliases for key in _block_keys(alias))
        family, given = family + extra, given + extra
    return family, given


def prefilter_passes(query: dict, person: dict) -> bool:
    """Whether :func:`rank` scores ``person`` in detail for ``query`` (for the benchmark):
    some key of the query resembles a family-side key of the person, and some key a
    given-side key. Any pair that can reach THRESHOLD has both (swapped names too)."""
    keys = _query_keys(query)
    family, given = _person_keys(person)

    def resembles(sides: tuple[str, ...]) -> bool:
        return any(fuzz.ratio(a, b) >= PREFILTER_CUTOFF for a in keys for b in sides)

    return resembles(family) and resembles(given)


def _prefilter(query: dict, columns: _Columns, indices: Sequence[int]) -> list[int]:
    """:func:`prefilter_passes` for many persons: one rapidfuzz pass (in C) per query key
    over the keys of the distinct family names, and one over the given names."""
    query_keys = _query_keys(query)
    family, given, aliases = columns.family_name, columns.given_name, columns.aliases
    families = _resembling(dict.fromkeys(family[i] or "" for i in indices), query_keys)
    givens = _resembling(dict.fromkeys(given[i] or "" for i in indices), query_keys)
    return [
        i
        for i in indices
        if ((family[i] or "") in families and (given[i] or "") in givens)
        or (aliases[i] and prefilter_passes(query, columns.person(i)))
    ]


def _resembling(names: Iterable[str], query_keys: list[str]) -> set[str]:
    """The names with a key resembling one of ``query_keys``."""
    choices: list[str] = []
    owners: list[str] = []
    for name in names:
        for key in _block_keys(name):
            choices.append(key)
            owners.append(name)
    found = set()
    for key in query_keys:
        for _choice, _score, index in process.extract(
            key, choices, scorer=fuzz.ratio, score_cutoff=PREFILTER_CUTOFF, limit=None
        ):
            found.add(owners[index])
    return found


# ---------------------------------------------------------------- the database


def find_candidates(session: Session, person_values: dict) -> list[dict]:
    """Persons who are probably ``person_values`` already, best first, with metadata only.

    Each candidate: ``person_id``, ``score`` (0..1, two decimals), ``case_refs`` (all
    cases of the person) and ``lead_organisation`` ``{id, name}`` of the newest case,
    the organisation to contact. Two queries: the persons (only the columns needed,
    narrowed to the birth year when known), then the cases of the candidates.
    """
    has_case = exists().where(Case.person_id == Person.id)
    statement = select(
        Person.id,
        Person.given_name,
        Person.family_name,
        cast(Person.aliases, Text),  # decoded below only when not empty
        Person.birth_year,
        Person.birth_month,
        Person.birth_day,
        Person.gender,
    ).where(has_case)
    year = person_values.get("birth_year")
    if year is not None:
        statement = statement.where(or_(Person.birth_year == year, Person.birth_year.is_(None)))
    connection = session.connection()
    # column by column, in chunks: rows die young, so none reaches the old GC generation
    ids: list[int] = []
    values: tuple[list, ...] = ([], [], [], [], [], [], [])
    for chunk in connection.execute(statement).partitions(250):
        chunk_ids, *chunk_values = zip(*chunk, strict=True)
        ids.extend(chunk_ids)
        for column, chunk_column in zip(values, chunk_values, strict=True):
            column.extend(chunk_column)
    if not ids:
        return []
    given, family, alias_texts, years, months, days, genders = values
    aliases = [json.loads(text) if text and text != "[]" else () for text in alias_texts]
    columns = _Columns(given, family, aliases, years, months, days, genders)
    ranked = _rank(person_values, columns, None, MAX_CANDIDATES, True)
    if not ranked:
        return []
    chosen = [ids[i] for _score, i in ranked]
    cases = connection.execute(
        select(Case.person_id, Case.reference, Organisation.id, Organisation.name)
        .join(Organisation, Organisation.id == Case.lead_organisation_id)
        .where(Case.person_id.in_(chosen))
        .order_by(Case.person_id, Case.created_at, Case.id)
    )
    refs: dict[int, list[str]] = {}
    lead: dict[int, dict] = {}
    for person_id, reference, org_id, org_name in cases:
        refs.setdefault(person_id, []).append(reference)
        lead[person_id] = {"id": org_id, "name": org_name}  # the newest case wins
    return [
        {
            "person_id": person_id,
            "score": round(score, 2),
            "case_refs": refs.get(person_id, []),
            "lead_organisation": lead.get(person_id),
        }
        for person_id, (score, _i) in zip(chosen, ranked, strict=True)
    ]
