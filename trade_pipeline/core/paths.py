"""Where the project's files live. Resolved when called (never at import), so tests and users can relocate them."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """`TRADE_PIPELINE_DATA_DIR` if set, else `<repo>/data`."""
    return Path(os.environ.get("TRADE_PIPELINE_DATA_DIR") or PROJECT_ROOT / "data")


def resolve(path: str | os.PathLike[str]) -> Path:
    """Resolve a configured path: absolute stays, relative is taken against the project root (not the cwd)."""
    p = Path(path)
    return p if p.is_absolute() else PROJECT_ROOT / p


def sample_captures_dir() -> Path:
    return PROJECT_ROOT / "data" / "sample" / "captures"


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically: a killed process never leaves half a file, and the temp file is private
    to this writer (two processes writing the same path at once must not rename each other's temp file away).
    A file that already holds exactly ``text`` is left as it is (a backfill rewrites many unchanged files)."""
    data = text.encode("utf-8")
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return path
    except OSError:  # absent (or unreadable): write it
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
