"""The output site tree: `Narrator/trade_briefing/…` (reports) beside `Extractor/<layer>/…` (cited files)."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from trade_pipeline.core.paths import data_dir, resolve, write_text_atomic


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
        return write_text_atomic(self.path(relative), text)
