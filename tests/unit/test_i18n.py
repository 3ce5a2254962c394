"""The German catalog keeps step with the code: every user-facing string is translated."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "portal" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    """Every msgid in the code and templates, as `make translations-update` extracts them."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


def _catalog(lang: str):
    with (CATALOGS / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


def _translated(message) -> bool:
    """Every form translated (a plural's too: its string is a tuple of them), not fuzzy."""
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(forms) and not message.fuzzy


def test_every_string_has_a_german_translation(extracted):
    german = _catalog("de")
    untranslated = sorted(
        msgid for msgid in extracted if msgid not in german or not _translated(german[msgid])
    )
    assert untranslated == [], "run `make translations-update` and translate these"


def test_english_catalog_lists_every_string(extracted):
    english = _catalog("en")
    assert sorted(msgid for msgid in extracted if msgid not in english) == []


@pytest.mark.parametrize("lang", ["de", "en"])
def test_placeholders_survive_translation(lang):
    for message in _catalog(lang):
        if message.id and message.string:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            expected = {p for text in ids for p in PLACEHOLDER.findall(text)}
            for text in filter(None, strings):  # every plural form names the same values
                assert set(PLACEHOLDER.findall(text)) == expected, message.id
