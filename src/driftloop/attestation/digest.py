"""The digest of a model bundle: what an approval names, computed the same way by ``promote``
(on the files it downloads from MLflow) and by the model server (on the files it loaded)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from driftloop.errors import DataError

__all__ = ["bundle_digest"]

_CHUNK = 1 << 20


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_digest(folder: Path) -> str:
    """sha256 over a ``sha256sum``-style listing of every file under ``folder`` (sorted by
    relative POSIX path): a file added, removed, renamed or changed changes the digest."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a model bundle directory")
    lines = []
    for path in sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix()):
        if path.is_symlink():
            raise DataError(f"{path}: a symbolic link in a model bundle is not digested")
        if path.is_file():
            lines.append(f"{_file_sha256(path)}  {path.relative_to(folder).as_posix()}\n")
    if not lines:
        raise DataError(f"{folder}: an empty model bundle")
    return hashlib.sha256("".join(lines).encode()).hexdigest()
