"""write_text_atomic: a changed text replaces the file; the same text leaves the file (and its inode) alone."""

from __future__ import annotations

from pathlib import Path

from trade_pipeline.core.paths import write_text_atomic


def test_unchanged_text_is_not_rewritten_and_changed_text_is(tmp_path: Path) -> None:
    path = tmp_path / "Extractor" / "x.md"
    write_text_atomic(path, "甲 1\n")
    assert path.read_bytes() == "甲 1\n".encode()
    inode = path.stat().st_ino
    write_text_atomic(path, "甲 1\n")  # identical: left as it is (no temp file, no rename)
    assert path.stat().st_ino == inode
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.md"]
    write_text_atomic(path, "甲 2\n")  # same length, other bytes: replaced
    assert path.read_bytes() == "甲 2\n".encode()
    assert path.stat().st_ino != inode
    write_text_atomic(path, "甲 22\n")  # other length: replaced
    assert path.read_text(encoding="utf-8") == "甲 22\n"
