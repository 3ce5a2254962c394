"""Differences between two versions: lines for text, field by field for forms and agreements."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from portal.models import DocumentVersion


@dataclass
class Row:
    """One row of a side-by-side diff: ``op`` is equal, insert, delete or replace."""

    op: str
    old: str | None
    new: str | None


@dataclass
class FieldChange:
    """One changed field, by its path (e.g. ``goals[1].status``)."""

    field: str
    old: object
    new: object


@dataclass
class VersionDiff:
    """What changed from version ``old`` to version ``new``."""

    old: int
    new: int
    kind: str  # "text" or "fields"
    title: tuple[str, str] | None = None
    rows: list[Row] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)
    file: dict | None = None

    @property
    def unchanged(self) -> bool:
        no_rows = all(row.op == "equal" for row in self.rows)
        return no_rows and not self.changes and self.title is None and self.file is None


def diff_versions(old: DocumentVersion, new: DocumentVersion) -> VersionDiff:
    """Compare two versions of the same document."""
    title = (old.title, new.title) if old.title != new.title else None
    if old.fields is not None or new.fields is not None:
        changes = [
            FieldChange(path, a, b)
            for path, (a, b) in _compare(old.fields or {}, new.fields or {}, "").items()
        ]
        return VersionDiff(old.number, new.number, "fields", title=title, changes=changes)
    result = VersionDiff(old.number, new.number, "text", title=title)
    old_text = old.text if old.text is not None else old.extracted_text
    new_text = new.text if new.text is not None else new.extracted_text
    result.rows = line_rows(old_text or "", new_text or "")
    if old.blob_sha256 != new.blob_sha256 or old.filename != new.filename:
        result.file = {
            "old": {"filename": old.filename, "sha256": old.blob_sha256},
            "new": {"filename": new.filename, "sha256": new.blob_sha256},
        }
    return result


def line_rows(old: str, new: str) -> list[Row]:
    """Side-by-side rows of a line diff."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            rows.extend(Row("equal", x, y) for x, y in zip(a[i1:i2], b[j1:j2], strict=True))
        elif op == "delete":
            rows.extend(Row("delete", x, None) for x in a[i1:i2])
        elif op == "insert":
            rows.extend(Row("insert", None, y) for y in b[j1:j2])
        else:
            olds, news = a[i1:i2], b[j1:j2]
            for k in range(max(len(olds), len(news))):
                rows.append(
                    Row(
                        "replace",
                        olds[k] if k < len(olds) else None,
                        news[k] if k < len(news) else None,
                    )
                )
    return rows


def _compare(old: object, new: object, path: str) -> dict[str, tuple[object, object]]:
    """Leaf-by-leaf differences between two JSON values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: dict[str, tuple[object, object]] = {}
        for key in sorted(set(old) | set(new), key=str):
            out.update(_compare(old.get(key), new.get(key), f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(old, list) and isinstance(new, list) and _all_dicts(old) and _all_dicts(new):
        out = {}
        for i in range(max(len(old), len(new))):
            out.update(
                _compare(
                    old[i] if i < len(old) else None,
                    new[i] if i < len(new) else None,
                    f"{path}[{i}]",
                )
            )
        return out
    return {} if old == new else {path: (old, new)}


def _all_dicts(items: list) -> bool:
    return all(isinstance(item, dict) for item in items)
