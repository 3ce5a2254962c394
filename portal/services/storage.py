"""The blob store: file contents addressed by SHA-256, written atomically, stored once.

Bytes are found by the hash recorded in the database, never by a path derived
from user input.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask_babel import lazy_gettext as _l

from portal.services.errors import PortalError

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class UploadTooLarge(PortalError):
    """The upload exceeds the configured limit."""

    code = "too_large"
    status = 413


@dataclass
class StagedFile:
    """An upload written to a temporary file, hashed, not yet in the store."""

    path: Path
    sha256: str
    size: int

    def discard(self) -> None:
        """Remove the temporary file (after a failed check, or once stored)."""
        self.path.unlink(missing_ok=True)


class BlobStore:
    """Content-addressed files below ``root``: ``root/ab/cdef…``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"

    def stage(self, stream: BinaryIO, max_bytes: int, owner: str = "") -> StagedFile:
        """Copy ``stream`` to a temporary file in chunks, hashing as it goes; ``owner``
        (``case-12``) is in its name, for ``release_owner``.

        Raises UploadTooLarge (leaving nothing behind) past ``max_bytes``.
        """
        self.tmp.mkdir(parents=True, exist_ok=True)
        path = self.tmp / f"upload-{owner}{'-' if owner else ''}{secrets.token_hex(16)}"
        digest = hashlib.sha256()
        size = 0
        try:
            with path.open("xb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise UploadTooLarge(
                            _l("The file is larger than %(mb)d MB.", mb=max_bytes // 2**20)
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return StagedFile(path, digest.hexdigest(), size)

    def commit(self, staged: StagedFile, owner: str = "") -> None:
        """Move a staged file into the store by an atomic rename; an identical blob is kept.
        The ``owner`` is noted first (``owners/case-12/<sha256>``): should the request
        fail after the rename, no database row names the file, and ``release_owner``
        still finds it."""
        if owner:
            noted = self.root / OWNERS / owner
            noted.mkdir(parents=True, exist_ok=True)
            (noted / staged.sha256).touch()
        target = self.path(staged.sha256)
        if target.exists():
            staged.discard()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        fsync_dir(target.parent)

    def path(self, sha256: str) -> Path:
        """Where the blob with this hash lives (validated: hex digits only)."""
        if not _SHA256.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        """True when the blob is on disk."""
        return self.path(sha256).exists()

    def open(self, sha256: str) -> BinaryIO:
        """Open the blob for reading."""
        return self.path(sha256).open("rb")

    def iter_blobs(self):
        """(sha256, path) of every stored blob (not the temporary uploads)."""
        if not self.root.exists():
            return
        for folder in sorted(self.root.iterdir()):
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            for path in folder.iterdir():
                sha256 = folder.name + path.name
                if _SHA256.match(sha256):
                    yield sha256, path

    def delete(self, sha256: str) -> None:
        """Remove a blob (no longer referenced by any version)."""
        self.path(sha256).unlink(missing_ok=True)

    def remove_stale_uploads(self, before: float) -> int:
        """Remove staged uploads last written before ``before`` (a timestamp): left by a
        server that died while receiving them. How many."""
        removed = 0
        for path in self.tmp.glob("upload-*") if self.tmp.is_dir() else ():
            if path.stat().st_mtime < before:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def release_owner(self, owner: str, recorded: Callable[[str], bool]) -> list[str]:
        """Remove what uploads for ``owner`` left behind: its staged files, and the stored
        files of its uploads that the database does not record (``recorded``: whether it
        does, or will remove them itself); forget the owner. The hashes removed."""
        for path in self.tmp.glob(f"upload-{owner}-*"):
            path.unlink(missing_ok=True)
        noted = self.root / OWNERS / owner
        if not noted.is_dir():
            return []
        removed = []
        for mark in noted.iterdir():
            if _SHA256.match(mark.name) and not recorded(mark.name):
                self.delete(mark.name)
                removed.append(mark.name)
            mark.unlink(missing_ok=True)
        noted.rmdir()
        return sorted(removed)


# Below the store's root: which owner's uploads each blob came from (see ``commit``).
OWNERS = "owners"


def fsync_dir(path: Path) -> None:
    """Make a rename or new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
