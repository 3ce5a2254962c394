"""Highlighted passages of a hit: the places in a stored text where query terms occur.

Whoosh's own highlighter re-analyses a hit's whole text through the analyzer chain for
every hit and field (it was 70 % of a search). Here the regex engine finds the words,
only the distinct ones go through the cached analysis, and the scan for their places
stops as soon as enough passages are found. Matches are marked «like this» in plain
text (escaped by the templates, never trusted HTML).
"""

from __future__ import annotations

from portal.services.search.analysis import WORD_RE, index_term

PASSAGES = 3
WIDTH = 160
SURROUND = 40
SCAN_CHARS = 20_000


def passages(text: str, terms: set[str], stem: bool = True, limit: int = PASSAGES) -> list[str]:
    """Up to ``limit`` passages of ``text`` (its first ``SCAN_CHARS``) around words whose
    index term (stemmed when ``stem``) is in ``terms``, in text order."""
    if not terms or not text:
        return []
    text = text[:SCAN_CHARS]
    # Which distinct words of the text are query terms (the regex engine finds the words,
    # only distinct ones go through the analysis); then where they stand.
    hits = {w for w in set(WORD_RE.findall(text)) if index_term(w, stem) in terms}
    if not hits:
        return []
    found: list[list[tuple[int, int]]] = []  # matches grouped into passages
    for match in WORD_RE.finditer(text):
        if match.group() not in hits:
            continue
        start, end = match.span()
        if found and end - found[-1][0][0] <= WIDTH - 2 * SURROUND:
            found[-1].append((start, end))
        elif len(found) == limit:
            break
        else:
            found.append([(start, end)])
    return [_marked(text, group) for group in found]


def _marked(text: str, matches: list[tuple[int, int]]) -> str:
    """The passage around ``matches``, cut at word boundaries, with the matches marked."""
    begin = _word_start(text, max(0, matches[0][0] - SURROUND))
    finish = _word_end(text, min(len(text), matches[-1][1] + SURROUND))
    parts, at = [], begin
    for start, end in matches:
        parts += [text[at:start], "«", text[start:end], "»"]
        at = end
    parts.append(text[at:finish])
    return " ".join("".join(parts).split())


def _word_start(text: str, index: int) -> int:
    """``index`` moved forward to the start of a word, unless it is one already."""
    if index == 0 or not text[index - 1].isalnum():
        return index
    while index < len(text) and text[index].isalnum():
        index += 1
    return index


def _word_end(text: str, index: int) -> int:
    """``index`` moved back to the end of a word, unless it is one already."""
    if index == len(text) or not text[index].isalnum():
        return index
    while index > 0 and text[index - 1].isalnum():
        index -= 1
    return index
