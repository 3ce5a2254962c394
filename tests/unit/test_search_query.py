"""The search language: parsed once into the tree every backend compiles; readable snippets."""

from __future__ import annotations

import unicodedata

import pytest

from portal.services.errors import InvalidInput
from portal.services.search import highlight
from portal.services.search.analysis import index_term
from portal.services.search.highlight import passages
from portal.services.search.query import (
    REFERENCE,
    STEMMED_FIELDS,
    TEXT_FIELDS,
    All,
    Any,
    NameLike,
    Not,
    Phrase,
    Prefix,
    Term,
    parse,
    words_of,
)

EVERYWHERE = TEXT_FIELDS


def tree(text: str):
    return parse(text).tree


def test_words_are_anded_and_plain_words_may_also_be_names_with_a_typo():
    assert tree("Mohamed Hasan") == Any(
        (
            All((Term("Mohamed", EVERYWHERE), Term("Hasan", EVERYWHERE))),
            All((NameLike("mohamed"), NameLike("hasan"))),
        )
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Räume der Wohnung"', Phrase("Räume der Wohnung", EVERYWHERE)),
        ("Integrations*", Prefix("integrations", ("title", "body", "names"))),
        ("Woh?ung", Prefix("woh", ("title", "body", "names"))),
        ("Wohnung -Gütersloh", All((Term("Wohnung"), Not(Term("Gütersloh"))))),
        ("Wohnung AND NOT Markt", All((Term("Wohnung"), Not(Term("Markt"))))),
        ("Wohnung OR Kurs", Any((Term("Wohnung"), Term("Kurs")))),
        ("titel:(Wohnung OR Kurs)", Any((Term("Wohnung", ("title",)), Term("Kurs", ("title",))))),
        ("Name:Hassan", Term("Hassan", ("names",))),
        ("Wohnung -titel:Kurs", All((Term("Wohnung"), Not(Term("Kurs", ("title",)))))),
        ("text:Wohnung", Term("Wohnung", ("body",))),
        ("az:KIM-2026-00001", Term("KIM-2026-00001", (REFERENCE,))),
        ('titel:"Neue Wohnung"', Phrase("Neue Wohnung", ("title",))),
        ("B1-Kurs", Term("B1-Kurs")),  # a hyphen inside a word excludes nothing
        ("(Wohnung", Term("Wohnung")),  # unbalanced brackets and quotes are closed
        ('"Wohnung', Phrase("Wohnung")),
        ("Wohnung)", Term("Wohnung")),
        ("Wohnung~2", Term("Wohnung")),
        ("acl:o1", Term("acl:o1")),  # no such field: just words
        ("die OR Wohnung", Term("Wohnung")),  # stop words are no search terms
        ("name:der", Term("der", ("names",))),  # unless asked for in names
    ],
)
def test_syntax(text, expected):
    parsed = tree(text)
    names = parsed.children[-1] if isinstance(parsed, Any) else None
    if isinstance(names, All) and all(isinstance(c, NameLike) for c in names.children):
        parsed = parsed.children[0]  # the names-with-a-typo alternative, tested above
    assert parsed == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x" * 501, "too_long"),
        ("ab*", "short_prefix"),
        ("-nur", "nothing_to_search"),
        ("NOT Wohnung", "nothing_to_search"),
        ("AND OR NOT", "nothing_to_search"),
        ("der die das", "nothing_to_search"),
        ("Wohnung OR -Kurs", "nothing_to_search"),
        ("(-Wohnung)", "nothing_to_search"),
        ("()", "nothing_to_search"),
    ],
)
def test_what_cannot_be_searched_is_a_clear_error(text, code):
    with pytest.raises(InvalidInput) as raised:
        parse(text)
    assert raised.value.fields == {"q": code}


def test_leaves_for_highlighting_leave_out_exclusions():
    parsed = parse("Wohnung -Markt")
    assert Term("Markt") not in parsed.leaves
    assert Term("Wohnung") in parsed.leaves


def test_every_field_has_the_analysis_of_the_index():
    assert words_of("Die Räume der Wohnungen", "body") == ["raum", "wohnung"]
    assert words_of("Die Räume", "names") == ["die", "raume"]
    assert words_of(" KIM-2026-00001 ", REFERENCE) == ["kim-2026-00001"]
    assert STEMMED_FIELDS == ("title", "body")


def test_snippets_shorten_leaders_of_tables_of_contents():
    toc = "3.3 Überlagerungen . . . . . . . . . . 47 3.4 Wohnung . . . . . . . 52 Anhang"
    assert passages(toc, {"wohnung"}) == ["… 47 3.4 «Wohnung» … 52 Anhang"]
    assert passages("Name: ____________ Wohnung", {"wohnung"}) == ["Name: … «Wohnung»"]
    assert passages("Die Wohnung ... ist frei.", {"wohnung"}) == ["Die «Wohnung» ... ist frei."]


def test_passages_mark_every_spelling_and_stop_after_the_limit():
    text = "Die Räume sind klein. " + "Füllwort " * 40 + "Die Raeume sind feucht. " * 5
    marked = highlight.passages(text, {"raum"}, limit=2)
    assert len(marked) == 2
    assert marked[0].startswith("Die «Räume» sind klein.")
    assert "«Raeume»" in marked[1]
    assert all(len(p) <= highlight.WIDTH + 20 for p in marked)


def test_passages_join_close_matches_and_cut_at_word_boundaries():
    text = "Anfangswort " * 10 + "Wohnung und Räume nahe beieinander" + " Schlusswort" * 10
    (only,) = highlight.passages(text, {"raum", "wohnung"})
    assert "«Wohnung» und «Räume»" in only
    assert only.split()[0] == "Anfangswort" and only.split()[-1] == "Schlusswort"


def test_passages_of_names_are_not_stemmed():
    assert highlight.passages("Amina Yusufs Akte", {"yusufs"}, stem=False) == [
        "Amina «Yusufs» Akte"
    ]
    assert highlight.passages("", {"x"}) == [] and highlight.passages("Text", set()) == []


def test_passages_find_every_spelling_of_a_term():
    text = "RÄUME, Raeume, Raume und " + unicodedata.normalize("NFD", "Räume") + "; Straße"
    (marked,) = highlight.passages(text, {"raum", "strass"})
    assert marked.count("«") == 5 and "«Straße»" in marked and "«RÄUME»" in marked
    assert highlight.passages("Quelle der Raumfahrt", {"raum"}) == []  # another word


def test_passages_of_many_terms_find_the_same_words_by_their_beginnings():
    text = "Die Großeltern, die Grosseltern und die Kinderbetreuung; Kindheit; Wohngeld"
    terms = {index_term(w) for w in ["Großeltern", "Kinderbetreuung", "Wohngeld"]}
    many = terms | {f"unbekannt{i}" for i in range(highlight.MANY_TERMS)}
    (few,) = highlight.passages(text, terms)
    (marked,) = highlight.passages(text, many)
    assert marked == few
    assert marked.count("«") == 4 and "«Großeltern»" in marked and "«Kindheit»" not in marked


def test_passages_mark_every_word_of_a_prefix_in_any_spelling():
    text = "Kindergärten, KINDERAERZTE und die Kinderbetreuung; ein Kind; Kinnhaken"
    (marked,) = highlight.passages(text, set(), prefixes=("kinder",))
    assert marked.count("«") == 3 and "«KINDERAERZTE»" in marked and "«Kind»" not in marked
    (both,) = highlight.passages(text, {"kinnhak"}, prefixes=("kinder",))
    assert both.count("«") == 4 and "«Kinnhaken»" in both


def test_a_query_marks_its_words_and_prefixes_per_field():
    marks, name_words = highlight.query_marks(parse("titel:Wohnung Kinder* -Schule").leaves)
    assert marks["title"] == highlight.Marks(frozenset({"wohnung"}), ("kinder",))
    assert marks["body"] == highlight.Marks(frozenset(), ("kinder",))
    assert marks["names"].prefixes == ("kinder",) and not marks["names"].terms
    assert name_words == [] and not highlight.Marks()
