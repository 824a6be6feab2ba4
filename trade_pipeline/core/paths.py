"""Where the project's files live. Resolved when called (never at import), so tests and users can relocate them."""

from __future__ import annotations

import os
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
