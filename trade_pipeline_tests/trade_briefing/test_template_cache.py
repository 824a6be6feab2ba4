"""The report templates' bytecode cache (render._TemplateBytecodeCache): a template loaded from it renders the same
text as one compiled from source, an environment with other compile options never reads another's entries, and a
cache that cannot be written never fails a render."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader

from trade_pipeline.defs.trade_briefing import render

TEMPLATE = "{% for row in rows %}\n  {{ row }}\n{% endfor %}\n"


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # the cache's default directory lives here
    (tmp_path / "tmp").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "t.j2").write_text(TEMPLATE, encoding="utf-8")
    return tmp_path


def _env(root: Path, **options) -> Environment:
    env = Environment(loader=FileSystemLoader(str(root / "templates")), **options)
    env.bytecode_cache = render._bytecode_cache(env)
    return env


def _entries(root: Path) -> list[Path]:
    return sorted((root / "tmp").glob("_jinja2-cache-*/*.cache"))


def test_a_cached_template_renders_like_a_compiled_one(templates: Path) -> None:
    compiled = _env(templates, trim_blocks=True).get_template("t.j2")
    [entry] = _entries(templates)
    written = entry.stat().st_mtime_ns
    cached = _env(templates, trim_blocks=True).get_template("t.j2")
    assert _entries(templates) == [entry] and entry.stat().st_mtime_ns == written  # read, not written again
    assert cached.render(rows=[1, 2]) == compiled.render(rows=[1, 2]) == "  1\n  2\n"


def test_other_compile_options_never_read_another_entry(templates: Path) -> None:
    _env(templates, trim_blocks=True).get_template("t.j2")
    untrimmed = _env(templates, trim_blocks=False).get_template("t.j2")
    assert len(_entries(templates)) == 2
    assert untrimmed.render(rows=[1]) == "\n  1\n"


def test_an_edited_template_recompiles(templates: Path) -> None:
    _env(templates).get_template("t.j2")
    (templates / "templates" / "t.j2").write_text("{{ rows | length }}", encoding="utf-8")
    assert _env(templates).get_template("t.j2").render(rows=[1, 2, 3]) == "3"


def test_a_cache_that_cannot_be_written_never_fails_a_render(templates: Path) -> None:
    env = _env(templates)
    env.bytecode_cache.directory = str(templates / "tmp" / "gone")  # writing there raises FileNotFoundError
    assert env.get_template("t.j2").render(rows=[]) == ""
