"""The output site tree: `Narrator/trade_briefing/…` (reports) beside `Extractor/<layer>/…` (cited files)."""

from __future__ import annotations

import uuid
from pathlib import Path

from dagster import ConfigurableResource

from trade_pipeline.core.paths import data_dir, resolve


class Site(ConfigurableResource):
    """Where markdown outputs are written. ``root`` empty means ``<data dir>/site``."""

    root: str = ""

    def root_dir(self) -> Path:
        return resolve(self.root) if self.root else data_dir() / "site"

    def path(self, relative: str) -> Path:
        """Absolute path of a site-relative file (e.g. 'Extractor/cn_export_control/x.md'); refuses to leave the root."""
        root = self.root_dir().resolve()
        target = (root / relative).resolve()
        if root not in target.parents and target != root:
            raise ValueError(f"path {relative!r} leaves the site root")
        return target

    def write(self, relative: str, text: str) -> Path:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A private temp name per writer: two runs writing the same file at once must not rename each other's tmp.
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target
