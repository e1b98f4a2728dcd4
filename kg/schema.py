"""The graph model, read from schema.yaml.

The schema is data so that the backends (typed tables in ladybug, constraints in Neo4j), the
bundle loader and the docs all derive from one declaration; adding a property is an edit of the
YAML plus `stakegraph migrate`, not a code change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")
#: The built-in industry-chain and region taxonomy, a bundle every run reads first (feed "taxonomy").
TAXONOMY_DIR = Path(__file__).with_name("taxonomy")
TAXONOMY_FEED = "taxonomy"
#: Source industry labels -> chain sectors, beside the taxonomy (read by the chain tagger, not loaded as a bundle).
SECTOR_MAP_FILE = "source_sector_map.csv"
TYPES = {"string", "string[]", "int", "float", "bool"}
DEFAULT_CAPTION = ("name_zh", "name_en", "id")


class SchemaError(ValueError):
    """A value or an edge that the schema does not allow; the message names the field and reason."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Prop:
    name: str
    type: str
    enum: tuple[str, ...] = ()
    required: bool = False
    doc: str = ""
    hashed: bool = True  # False for summaries derived from relationships: not part of change detection


@dataclass(frozen=True)
class Label:
    name: str
    props: dict[str, Prop]
    required_any: tuple[str, ...] = ()
    doc: str = ""
    caption: tuple[str, ...] = ("id",)


@dataclass(frozen=True)
class RelType:
    name: str
    ends: tuple[tuple[str, str], ...]
    symmetric: bool = False

    def allows(self, src_label: str, dst_label: str) -> bool:
        return (src_label, dst_label) in self.ends


@dataclass(frozen=True)
class Schema:
    version: int
    provenance: dict[str, Prop]
    labels: dict[str, Label]
    edge_props: dict[str, Prop]
    relationships: dict[str, RelType]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def node_columns(self, label: str) -> dict[str, Prop]:
        """All columns a node table of this label has: its own properties plus provenance."""
        return {**self.labels[label].props, **self.provenance}

    def edge_columns(self) -> dict[str, Prop]:
        return {"id": Prop("id", "string"), **self.edge_props, **self.provenance}

    def label(self, name: str) -> Label:
        if name not in self.labels:
            raise SchemaError("label", f"unknown label {name!r}; known: {', '.join(self.labels)}")
        return self.labels[name]

    def rel(self, name: str) -> RelType:
        if name not in self.relationships:
            known = ", ".join(self.relationships)
            raise SchemaError("type", f"unknown relationship type {name!r}; known: {known}")
        return self.relationships[name]

    def check_edge(self, rel_type: str, src_label: str, dst_label: str) -> RelType:
        """Raise SchemaError unless rel_type may join a src_label node to a dst_label node."""
        rel = self.rel(rel_type)
        if not rel.allows(src_label, dst_label):
            allowed = "; ".join(f"{a}->{b}" for a, b in rel.ends)
            raise SchemaError(
                "type", f"{rel_type} cannot join {src_label} to {dst_label} (allowed: {allowed})"
            )
        return rel

    def caption(self, label: str, props: Mapping[str, Any], lang: str = "zh", ident: str = "") -> str:
        """The name a page shows for a node: the first non-empty property of the label's
        `caption` list, those in the reader's language (`_zh` / `_en`) before their twins."""
        fields = self.labels[label].caption if label in self.labels else DEFAULT_CAPTION
        ordered = [f for f in fields if f.endswith(f"_{lang}")] + [f for f in fields if not f.endswith(f"_{lang}")]
        for f in ordered:
            value = (ident or props.get("id")) if f == "id" else props.get(f)
            if value:
                return str(value)
        return ident or str(props.get("id") or "")

    def coerce(self, label: str, name: str, value: Any) -> Any:
        """Convert a raw (CSV or JSON) value to the declared type, or raise SchemaError."""
        prop = self.node_columns(label).get(name) or self.edge_props.get(name)
        if prop is None:
            return value
        return coerce_value(prop, value)


def coerce_value(prop: Prop, value: Any) -> Any:
    if value is None or value == "" or value == []:
        return [] if prop.type == "string[]" else None
    try:
        if prop.type == "string[]":
            items = value if isinstance(value, list) else str(value).split("|")
            out = [str(v).strip() for v in items if str(v).strip()]
            return list(dict.fromkeys(out))
        if prop.type == "int":
            return int(str(value).replace(",", ""))
        if prop.type == "float":
            return float(str(value).replace(",", ""))
        if prop.type == "bool":
            text = str(value).strip().lower()
            if text not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError(value)
            return text in {"true", "1", "yes"}
    except ValueError:
        raise SchemaError(prop.name, f"{value!r} is not a valid {prop.type}") from None
    text = str(value).strip()
    if prop.enum and text not in prop.enum:
        raise SchemaError(prop.name, f"{text!r} is not one of {', '.join(prop.enum)}")
    return text


def _props(spec: dict[str, Any] | None) -> dict[str, Prop]:
    out = {}
    for name, p in (spec or {}).items():
        if p["type"] not in TYPES:
            raise SchemaError(name, f"unknown type {p['type']!r}")
        out[name] = Prop(
            name, p["type"], tuple(p.get("enum", ())), bool(p.get("required")), p.get("doc", ""), bool(p.get("hashed", True))
        )
    return out


def parse_schema(raw: dict[str, Any]) -> Schema:
    """Build a Schema and check its references, so a typo fails at start-up, not mid-load."""
    labels = {
        name: Label(name, _props(spec.get("properties")), tuple(spec.get("required_any", ())), spec.get("doc", ""),
                    tuple(spec.get("caption") or DEFAULT_CAPTION))
        for name, spec in raw["labels"].items()
    }
    for label in labels.values():
        unknown = [f for f in label.caption if f != "id" and f not in label.props]
        if unknown:
            raise SchemaError(label.name, f"caption names unknown properties {unknown}")
    rels = {}
    for name, spec in raw["relationships"].items():
        ends = tuple((a, b) for a, b in spec["ends"])
        for a, b in ends:
            if a not in labels or b not in labels:
                raise SchemaError(name, f"end {a}->{b} names an unknown label")
        rels[name] = RelType(name, ends, bool(spec.get("symmetric")))
    return Schema(
        version=int(raw.get("version", 1)),
        provenance=_props(raw["provenance"]),
        labels=labels,
        edge_props=_props(raw.get("edge_properties")),
        relationships=rels,
        raw=raw,
    )


@lru_cache(maxsize=4)
def load_schema(path: str | None = None) -> Schema:
    with open(path or SCHEMA_PATH, encoding="utf-8") as fh:
        return parse_schema(yaml.safe_load(fh))


def schema_fingerprint(schema: Schema) -> str:
    """A stable text of the schema, stored with a graph so `migrate` can tell what changed."""
    return json.dumps(schema.raw, sort_keys=True, ensure_ascii=False)


def caption(label: str, props: Mapping[str, Any], lang: str = "zh", ident: str = "") -> str:
    """`Schema.caption` of the project's schema (kg/schema.yaml)."""
    return load_schema().caption(label, props, lang, ident)
