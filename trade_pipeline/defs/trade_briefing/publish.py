"""Render → verify → publish, and verifying what is published (the asset, its blocking check and the CLI share this).

A week's report is rendered to a private staging file next to its final path and verified there (figures in place,
against facts recomputed from the layer tables). Only when every week of the run verifies are the claims written and
the staged files renamed over the published ones, so a failed verify leaves the last good reports (and the index,
which is rebuilt only after a successful publish) byte-identical.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from trade_pipeline.core import contract
from trade_pipeline.core.partitions import iso_week_label, partition_key_for_iso_week
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.trade_briefing.facts import week_facts
from trade_pipeline.defs.trade_briefing.facts.model import Fact
from trade_pipeline.defs.trade_briefing.render import REPORT_DIR, RenderedReport
from trade_pipeline.defs.trade_briefing.verify import Mismatch, Outcome, verify_report

CLAIMS_TABLE = contract.BRIEFING_CLAIMS


class VerificationFailed(RuntimeError):
    def __init__(self, outcomes: list[Outcome]):
        self.outcomes = outcomes
        bad = [m for o in outcomes for m in o.mismatches]
        lines = [str(m) for m in bad[:20]] + ([f"… and {len(bad) - 20} more"] if len(bad) > 20 else [])
        super().__init__(f"{len(bad)} figure(s) failed verification; nothing was published:\n  " + "\n  ".join(lines))


def recomputed_facts(warehouse: Warehouse, keys: list[str], site_root: Path) -> dict[str, dict[str, Fact]]:
    """week -> slot -> fact, rebuilt from the layer tables now (what verify compares the printed figures with)."""
    return {inp.key: {f.slot: f for f in book} for inp, book in week_facts(warehouse, keys, site_root)}


@dataclass(frozen=True)
class Verified:
    """What publishing verified of one edition: the exact text, its claims and the outcome (with the facts the
    step recomputed). The step's check re-verifies the published file only where it differs from this."""

    text: str
    claims: list[dict]
    outcome: Outcome

    def holds_for(self, text: str, stored_claims: list[dict]) -> bool:
        """``text`` and ``stored_claims`` (read back from the warehouse) are exactly what was verified, so
        verify_report (a function of text, claims and facts) would give the same outcome."""
        if text != self.text or len(stored_claims) != len(self.claims):
            return False
        columns = sorted(self.claims[0]) if self.claims else []

        def canonical(rows: list[dict]) -> list[tuple]:
            return sorted(tuple(repr(r.get(c)) for c in columns) for r in rows)

        return canonical(stored_claims) == canonical(self.claims)


def verify_rendered(
    warehouse: Warehouse,
    site_root: Path,
    reports: dict[str, list[RenderedReport]],
    facts: dict[str, dict[str, Fact]] | None = None,
) -> list[Verified]:
    """Verify rendered (not yet published) reports: week -> its editions; one record per edition, its outcome with
    the text and claims it was verified on. ``facts``: the weeks' facts already recomputed from the layer tables by
    the caller in this step (:func:`recomputed_facts`); recomputed here if not."""
    if facts is None:
        facts = recomputed_facts(warehouse, sorted(reports), site_root)
    verified = []
    for key, editions in reports.items():
        for rep in editions:
            claims = rep.claims.to_dicts()
            outcome = verify_report(rep.markdown, claims, facts.get(key, {}), rep.relpath)
            verified.append(Verified(rep.markdown, claims, outcome))
    return verified


@dataclass
class Staged:
    final: Path
    staged: Path


def publish(
    warehouse: Warehouse,
    site_root: Path,
    reports: dict[str, list[RenderedReport]],
    facts: dict[str, dict[str, Fact]] | None = None,
    verified: dict[str, Verified] | None = None,
) -> list[str]:
    """Stage every edition, verify all, then write the claims (one transaction) and move the staged files in.
    Raises :class:`VerificationFailed` (nothing published, staged files removed) when any figure fails.
    ``facts``: as for :func:`verify_rendered` (recomputed from the layer tables, never the stored briefing_facts).
    ``verified``: filled with what was verified of each published edition (relpath → :class:`Verified`)."""
    staged: list[Staged] = []
    try:
        on_disk: dict[str, list[RenderedReport]] = {}
        for key, editions in reports.items():
            for rep in editions:
                final = site_root / rep.relpath
                final.parent.mkdir(parents=True, exist_ok=True)
                tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.staged")
                tmp.write_text(rep.markdown, encoding="utf-8")
                staged.append(Staged(final, tmp))
                # verify what was written to disk, exactly as it will be published
                on_disk.setdefault(key, []).append(replace(rep, markdown=tmp.read_text(encoding="utf-8")))
        checked = verify_rendered(warehouse, site_root, on_disk, facts)
        if any(not v.outcome.passed for v in checked):
            raise VerificationFailed([v.outcome for v in checked])
        if verified is not None:
            verified.update({v.outcome.report: v for v in checked})  # keyed by the edition's relpath
        claims = {
            key: pl.concat(
                [r.claims for r in editions] + _kept_claims(warehouse, site_root, key, {r.relpath for r in editions})
            )
            for key, editions in reports.items()
        }
        with warehouse.session():
            warehouse.replace_partitions(CLAIMS_TABLE, claims)
        for s in staged:
            s.staged.replace(s.final)
        staged = []
        return [r.relpath for editions in reports.values() for r in editions]
    finally:
        for s in staged:
            s.staged.unlink(missing_ok=True)


def _kept_claims(warehouse: Warehouse, site_root: Path, key: str, rendered: set[str]) -> list[pl.DataFrame]:
    """The recorded claims of the week's other editions still in the site (a run that renders only zh-TW keeps
    the English edition verifiable: its claims stay, and verify checks it against the facts as they are now)."""
    from trade_pipeline.defs.trade_briefing.printing import CLAIMS_SCHEMA

    with warehouse.connect(read_only=True) as conn:
        if not warehouse.has_table(CLAIMS_TABLE, conn):
            return []
        df = conn.execute(f"SELECT * FROM {CLAIMS_TABLE} WHERE week_start = ?::DATE", [key]).pl()
    if df.is_empty() or "report" not in df.columns:
        return []
    others = [r for r in df["report"].unique().to_list() if r not in rendered and (site_root / r).is_file()]
    if not others:
        return []
    kept = df.filter(pl.col("report").is_in(others))
    return [
        kept.select(
            [pl.col(c).cast(t) if c in kept.columns else pl.lit(None, t).alias(c) for c, t in CLAIMS_SCHEMA.items()]
        )
    ]


# --- verifying what is published --------------------------------------------------------------------------------

#: Every edition of a weekly report: 2026-W05-trade-briefing.md (zh-TW) and 2026-W05-trade-briefing.<lang>.md.
EDITION_RE = re.compile(r"^\d{4}-W\d{2}-trade-briefing(?:\.[a-z]{2}(?:-[A-Za-z]{2})?)?\.md$")


def published_reports(site_root: Path) -> list[Path]:
    folder = site_root / REPORT_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if EDITION_RE.match(p.name))


def week_of(path: Path) -> str:
    """Partition key of a report file from its name ('2026-W05-trade-briefing.md' → '2026-01-26')."""
    return partition_key_for_iso_week(path.name[:8])


def load_claims(warehouse: Warehouse, key: str, relpath: str) -> list[dict]:
    with warehouse.connect(read_only=True) as conn:
        if not warehouse.has_table(CLAIMS_TABLE, conn):
            return []
        cols = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [CLAIMS_TABLE]
            ).fetchall()
        }
        if "slot" not in cols:  # claims written before claims were bound to place
            return []
        return (
            conn.execute(f"SELECT * FROM {CLAIMS_TABLE} WHERE week_start = ?::DATE AND report = ?", [key, relpath])
            .pl()
            .to_dicts()
        )


def verify_published(
    warehouse: Warehouse,
    site_root: Path,
    paths: Iterable[Path] | None = None,
    facts: dict[str, dict[str, Fact]] | None = None,
    verified: dict[str, Verified] | None = None,
) -> list[Outcome]:
    """Verify published report files (default: every one in the site) against the layer tables now. ``facts``: the
    weeks' facts recomputed from the layer tables earlier in the same step (the publishing step passes the ones it
    verified with, so a week is not recomputed twice in a run); recomputed here if not given. ``verified``: what
    :func:`publish` verified with those same facts: an edition whose published text and stored claims are exactly
    that keeps its outcome; any other is verified again."""
    files = list(paths) if paths is not None else published_reports(site_root)
    by_week: dict[str, list[Path]] = {}
    outcomes: list[Outcome] = []
    for path in files:
        try:
            by_week.setdefault(week_of(path), []).append(path)
        except ValueError:
            outcomes.append(
                Outcome(
                    str(path),
                    0,
                    0,
                    [Mismatch(str(path), "not a weekly report file name (expected YYYY-Www-trade-briefing*.md)")],
                )
            )
    with warehouse.session(read_only=True):
        if facts is None:
            facts = recomputed_facts(warehouse, sorted(by_week), site_root)
        for key, week_files in sorted(by_week.items()):
            for path in week_files:
                rel = f"{REPORT_DIR}/{path.name}"  # claims are kept by the report's place in the site
                if not path.is_file():
                    outcomes.append(Outcome(rel, 0, 0, [Mismatch(rel, "report file not found")]))
                    continue
                claims = load_claims(warehouse, key, rel)
                if not claims:
                    outcomes.append(
                        Outcome(
                            rel,
                            0,
                            0,
                            [
                                Mismatch(
                                    rel,
                                    f"no recorded claims for {iso_week_label(key)} in {CLAIMS_TABLE} (re-materialize the "
                                    f"week to publish a verifiable report)",
                                )
                            ],
                        )
                    )
                    continue
                text = path.read_text(encoding="utf-8")
                done = (verified or {}).get(rel)
                if done is not None and done.holds_for(text, claims):
                    outcomes.append(done.outcome)
                else:
                    outcomes.append(verify_report(text, claims, facts.get(key, {}), rel))
    return outcomes


def outcomes_metadata(outcomes: list[Outcome]) -> dict:
    return {
        "reports": [
            {"report": o.report, "claims": o.claims, "figures": o.figures, "mismatches": len(o.mismatches)}
            for o in outcomes
        ],
        "mismatches": [m.as_dict() for o in outcomes for m in o.mismatches][:50],
    }
