"""Sources and the manifest that declares them.

Adding a source is a manifest entry (name, kind, path or url, mapping), not code. Each kind is a
small reader that turns its input into the same records (ingest.records).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ingest.csv_rows import CsvLimits
from ingest.sources.bundle_source import BundleSource
from ingest.sources.registry import CSV_KINDS, KINDS, ManifestError, Source, register_kind
from kg.schema import SECTOR_MAP_FILE, TAXONOMY_DIR, TAXONOMY_FEED

__all__ = ["CSV_KINDS", "DEFAULT_MANIFEST", "KINDS", "ManifestError", "Source", "load_kinds", "load_manifest",
           "taxonomy_source"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MANIFEST = PROJECT_ROOT / "data" / "sources.yaml"
TAXONOMY_NOTES = "SOURCE.md"  # where the taxonomy comes from; for people, not the loader

register_kind("bundle", BundleSource, reads_csv=True)


def taxonomy_source(limits: CsvLimits | None = None) -> BundleSource:
    """The built-in industry-chain and region taxonomy; every run reads it first."""
    return BundleSource(TAXONOMY_FEED, TAXONOMY_DIR, ignore=(SECTOR_MAP_FILE, TAXONOMY_NOTES), limits=limits)


def load_manifest(path: str | Path | None = None, settings: Any = None) -> list[Source]:
    """The sources a manifest declares, the taxonomy first. With `settings`, the CSV-reading
    kinds get that run's reader limits; without, they read the process's settings."""
    path = Path(path or DEFAULT_MANIFEST)
    limits = CsvLimits.from_settings(settings) if settings is not None else None
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ManifestError(f"no manifest at {path}") from None
    load_kinds()
    sources = [taxonomy_source(limits)]
    names = {TAXONOMY_FEED}
    for i, entry in enumerate(spec.get("sources") or [], 1):
        name, kind = entry.get("name"), entry.get("kind")
        if not name or name in names:
            raise ManifestError(f"{path}: source #{i}: a unique name is required (got {name!r})")
        if kind not in KINDS:
            raise ManifestError(f"{path}: source {name}: unknown kind {kind!r}; known: {', '.join(sorted(KINDS))}")
        options = {k: v for k, v in entry.items() if k not in ("name", "kind", "tier", "as_of")}
        tier = entry.get("tier", DEFAULT_TIER)
        if tier not in TIERS:
            raise ManifestError(f"{path}: source {name}: unknown tier {tier!r}; known: {', '.join(TIERS)}")
        if "path" in options:
            options["path"] = (path.parent / options["path"]).resolve()
        if kind in CSV_KINDS:
            options["limits"] = limits
        try:
            sources.append(stamped(KINDS[kind](name, **options), tier, entry.get("as_of")))
        except TypeError as exc:
            raise ManifestError(f"{path}: source {name}: {exc}") from None
        names.add(name)
    return sources


TIERS = ("official", "curated", "extracted", "illustrative")
DEFAULT_TIER = "curated"  # a source that declares none, and a bundle loaded without a manifest


def stamped(source: Source, tier: str, as_of: Any = None) -> Source:
    """The source, its records stamped with the evidence tier its manifest entry declares and
    the date its facts describe (`as_of`: "2018" for board roles of about 2018, a list's
    snapshot date). A row's own value wins. Curated is the default and is not stamped: a fact
    without a tier reads as curated. The reader stays the same object and kind."""
    source.tier = tier  # type: ignore[attr-defined]
    stamp = {k: v for k, v in (("evidence_tier", tier if tier != DEFAULT_TIER else None),
                               ("as_of", str(as_of) if as_of not in (None, "") else None)) if v}
    if not stamp:
        return source
    read = source.read

    def read_stamped(schema):
        batch = read(schema)
        for rec in (*batch.nodes, *batch.edges):
            for key, value in stamp.items():
                rec.props.setdefault(key, value)
        return batch

    source.read = read_stamped  # type: ignore[method-assign]
    return source


def load_kinds() -> None:
    """Kinds written as separate modules register themselves when imported."""
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if mod.name.endswith("_source") and mod.name != "bundle_source":
            importlib.import_module(f"{__name__}.{mod.name}")
