"""Making a written file survive a crash: fsync the file, rename it into place, fsync its folder.

Shared by the stores that keep their own files (the load queue's segments,
the DuckDB store's vector segments): a file another record points to must
be on disk before that record is committed.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir", "publish"]


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(partial: Path, final: Path) -> Path:
    """fsync ``partial``, rename it to ``final`` and fsync the folder; returns ``final``."""
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, final)
    fsync_dir(final.parent)
    return final
