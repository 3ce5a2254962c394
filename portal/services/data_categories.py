"""Which data categories a document touches: proposed when writing, checked when saving.

The writer chooses a document's categories; the portal proposes them from the title (and
an upload's file name), the agreement's goal areas and the case's focus areas, so that
the form opens with what the document most likely touches. An assessment's categories are
not chosen: they are those of the sections filled in (``document_fields``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l

from portal.models import Document, categories
from portal.services import document_fields
from portal.services.errors import ValidationFailed

# Word beginnings (German and English, lower case) that mark a category in a title.
KEYWORDS = {
    "sprache": ("sprach", "deutschkurs", "integrationskurs", "dolmetsch", "übersetz",
                "language", "interpret"),
    "arbeit": ("arbeit", "job", "bewerb", "lebenslauf", "praktik", "ausbildungsplatz",
               "beschäftig", "work", "employ", "cv"),
    "bildung": ("schul", "kita", "ausbildung", "studi", "zeugnis", "anerkennung", "abschluss",
                "school", "educat", "diplom", "certificate"),
    "wohnen": ("wohn", "miet", "unterkunft", "umzug", "nebenkosten", "housing", "rent",
               "flat", "apartment"),
    "gesundheit": ("gesund", "arzt", "ärzt", "krank", "klinik", "attest", "therap", "pflege",
                   "impf", "medizin", "medikament", "psych", "schwanger", "behinder",
                   "health", "medical", "doctor", "hospital"),
    "aufenthalt": ("aufenthalt", "duldung", "asyl", "ausländerbehörde", "fiktion", "visum",
                   "reisepass", "passport", "einbürger", "residence", "permit", "asylum"),
    "familie": ("famili", "kind", "ehepartner", "heirat", "geburt", "sorgerecht",
                "elternzeit", "family", "child", "marriage"),
    "finanzen": ("finanz", "geld", "kindergeld", "bürgergeld", "leistungsbescheid", "konto",
                 "schulden", "unterhalt", "rechnung", "money", "debt", "benefit"),
}  # fmt: skip
WORDS = re.compile(r"\w+")


def from_words(text: str) -> set[str]:
    """The categories some word of ``text`` begins like."""
    words = [w.lower() for w in WORDS.findall(text or "")]
    return {
        category
        for category, stems in KEYWORDS.items()
        if any(word.startswith(stems) for word in words)
    }


def propose(
    doc_type: str, title: str = "", focus_areas: Iterable[str] = (), fields: dict | None = None
) -> list[str]:
    """The categories a new document most likely touches: its title's, an agreement's goal
    areas', and the case's focus areas that are data categories (a writer unticks what the
    document does not touch; one left ticked hides the document from partners without that
    release, one missed would show it to them). None for an assessment: its sections
    decide."""
    if doc_type == "assessment":
        return []
    areas = [goal.get("area") or "" for goal in (fields or {}).get("goals") or []]
    named = {area.strip().casefold() for area in areas}
    return categories.ordered(from_words(" ".join([title, *areas])) | set(focus_areas) | named)


def chosen(document_type: str, names: object, fields: dict | None = None) -> list[str]:
    """The categories a save gives the document: ``names`` as chosen (ValidationFailed on
    an unknown one), or for an assessment those of its filled-in sections."""
    if document_type == "assessment":
        if names not in (None, []):
            raise ValidationFailed(
                _l("An assessment's data categories follow from its sections."),
                fields={"data_categories": "set_by_sections"},
            )
        return categories.ordered(document_fields.sections_touched(fields))
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ValidationFailed(
            _l("Please check the data categories."), fields={"data_categories": "must_be_list"}
        )
    unknown = set(names) - set(categories.DATA_CATEGORIES)
    if unknown:
        raise ValidationFailed(
            _l("Please check the data categories."),
            fields={"data_categories": f"unknown: {sorted(unknown)}"},
        )
    return categories.ordered(names)


def assign(document: Document, names: list[str]) -> bool:
    """Add these categories to ``document``'s. A category is never taken away: every
    version stays readable in the history (and restorable), so what one touched the
    document touches. Whether they changed."""
    names = merged(document, names)
    changed = names != list(document.data_categories or ())
    document.data_categories = names
    return changed


def merged(document: Document, names: list[str]) -> list[str]:
    """The document's categories with ``names`` added."""
    return categories.ordered({*names, *(document.data_categories or ())})
