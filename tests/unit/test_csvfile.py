"""The one CSV format of every export: BOM, ``;``, CRLF, formula-safe text."""

from __future__ import annotations

import csv
import io

import pytest

from portal.services.csvfile import csv_document, safe_cell


def test_a_document_opens_in_german_excel_as_written():
    text = csv_document(["Name", "Anzahl"], [("Müller; Söhne", 3), ('Sagt "hallo"', None)])
    assert text.startswith("\ufeff")
    assert text.count("\r\n") == 3 and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))
    assert rows == [["Name", "Anzahl"], ["Müller; Söhne", "3"], ['Sagt "hallo"', ""]]


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1"])
def test_text_never_starts_a_formula(text):
    assert safe_cell(text) == "'" + text
    row = csv_document(["x"], [(text,)]).split("\r\n", 1)[1]
    assert not row.lstrip('"').startswith(("=", "+", "-", "@", "\t", "\r", "\n"))


def test_numbers_and_plain_text_stay_as_they_are():
    assert safe_cell(-1) == -1 and safe_cell(2.5) == 2.5
    assert safe_cell("Stadt Rietberg") == "Stadt Rietberg"
    assert safe_cell(None) == ""
