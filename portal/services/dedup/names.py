"""Names: folded, their particles and transliteration variants made one spelling, and how
alike two names are (see the package docstring)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import Indel

from portal.services.dedup.phonetics import koelner_phonetik

# Weights of the partial evidence (see _string_sim).
_SKELETON_WEIGHT = 0.95  # vowel classes merged: a/e or e/i, o/u
_PHONETIC_BONUS = 0.03  # equal Kölner Phonetik code
_BARE_WEIGHT = 0.98  # equal only without the article (Al-Hassan / Hassan)


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
