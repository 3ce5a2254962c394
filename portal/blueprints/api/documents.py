"""API: documents, versions, contents, diff and restore."""

from __future__ import annotations
