"""A manifest `mapping`: how the columns (or JSON paths) of one source become graph records.

Why one module for csv, json, jsonl and http: those kinds differ only in how they get rows; the
mapping onto labels, ids, properties and relations, and the rejections it raises, are the same,
so an option or a fix serves every kind. The format is documented in docs/sources.md. A mapping
is compiled when the manifest is loaded, so a typo (an unknown property, label or relationship
type) fails before anything is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.cell_rules import ControlCharacter, is_prose, screen
from ingest.normalize import listing
from ingest.normalize.address import district_of
from ingest.normalize.codes import normalize_stock_code, validate_credit_code
from ingest.records import Batch, EdgeRecord, NodeRecord, ReadWarning, Rejection
from ingest.sources.registry import ManifestError
from kg.schema import Schema, SchemaError, coerce_value, load_schema

TEMPLATE_RE = re.compile(r"\{([^{}|]+)(?:\|([a-z_]+))?\}")
VALUE_KEYS = {"column", "value", "template", "split", "map", "unmapped", "filter", "first", "default"}
NODE_KEYS = {"label", "id", "source", "fields", "extra", "relations"}
EDGE_KEYS = {"type", "source_id", "target_id", "source", "props"}
RELATION_KEYS = {"type", "target", "direction", "props"}


class MappingError(ManifestError):
    """A mapping the schema does not allow; raised when the manifest is loaded."""


class RowError(Exception):
    """One value of one row is bad; the row is rejected with this field and reason."""

    def __init__(self, field: str, reason: str, value: Any = ""):
        super().__init__(reason)
        self.field, self.reason, self.value = field, reason, "" if value is None else str(value)


def _slug(value: str) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "-", value.lower()).strip("-")


def _host(value: str) -> str:
    """The first host of a cell of domains or URLs ('https://www.cuhk.edu.hk/;…' -> 'cuhk.edu.hk'):
    a university's domain is its stable key where two share a name."""
    first = re.split(r"[;,\s]+", value.strip())[0].lower()
    return re.sub(r"^www\.", "", re.sub(r"^[a-z]+://", "", first).split("/")[0])


# Filters turn a raw cell into a key: codes are validated (a bad one rejects the row rather than
# becoming an id) and written one canonical way, so `600584` and `600584.SH` give one id.
FILTERS: dict[str, Callable[[str], str]] = {
    "stock_code": normalize_stock_code,
    "stock_number": lambda v: normalize_stock_code(v).split(".")[0],
    "credit_code": validate_credit_code,
    "lower": str.lower,
    "upper": str.upper,
    "slug": _slug,
    "host": _host,
    "district": district_of,
}
# Filters that normalise a quirk of real lists, one named rule per case (ingest.normalize.listing);
# each change is counted per source, field and rule in the run log (Batch.normalised).
NORMALISERS: dict[str, Callable[[str], listing.Result]] = {
    "short_name": listing.short_name,
    "listed_name": listing.listed_name,
    "stock_status": listing.stock_status,
    "clean_text": listing.clean_text,
    "number": listing.number,
    "a_share_number": listing.a_share_number,
    "person_name": listing.person_name,
}
Fixes = list[tuple[str, str, str, str]]  # (field, rule, value before, value after)


def lookup(obj: Any, path: str) -> Any:
    """The value at `path`: an exact key first (CSV headers may contain dots), else a dotted
    path into nested objects; a `*` step (or a list met on the way) maps over list items."""
    if isinstance(obj, dict) and path in obj:
        return obj[path]
    cur: list[Any] = [obj]
    for step in path.split("."):
        nxt: list[Any] = []
        for item in cur:
            items = item if isinstance(item, list) and step != "*" else [item]
            for it in items:
                if step == "*" and isinstance(it, list):
                    nxt.extend(it)
                elif isinstance(it, dict) and step in it:
                    nxt.append(it[step])
                elif isinstance(it, list) and step.isdigit() and int(step) < len(it):
                    nxt.append(it[int(step)])
        cur = nxt
    if not cur:
        return None
    return cur[0] if len(cur) == 1 else cur


def _flat(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [v for item in value for v in _flat(item)]
    return [value]


def _apply_filter(name: str | None, value: Any, field_name: str, fixes: Fixes | None = None) -> str:
    text = str(value).strip()
    if not name:
        return text
    try:
        if name in NORMALISERS:
            out, rules = NORMALISERS[name](text)
            if fixes is not None:
                fixes += [(field_name, rule, text, out) for rule in rules]
            return out
        return FILTERS[name](text)
    except ValueError as exc:  # CodeError and the normalisers' reasons
        raise RowError(field_name, str(exc), text) from None


@dataclass(frozen=True)
class ValueSpec:
    """Where one value comes from: columns, a constant or a template, then split, map, filter."""

    columns: tuple[str, ...] = ()
    value: Any = None
    template: str | None = None
    split: tuple[str, ...] = ()
    map: dict[str, Any] = field(default_factory=dict)
    filter: str | None = None
    default: Any = None
    first: bool = False  # keep only the first value (a cell listing several websites)
    drop_unmapped: bool = False  # `unmapped: drop`: values the map does not name are left out

    @classmethod
    def parse(cls, spec: Any, where: str) -> ValueSpec:
        if isinstance(spec, str):
            return cls(columns=(spec,))
        if not isinstance(spec, dict) or not spec.keys() & {"column", "value", "template"}:
            raise MappingError(f"{where}: give a column name, or an object with column, value or template")
        unknown = set(spec) - VALUE_KEYS
        if unknown:
            raise MappingError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(VALUE_KEYS))}")
        filters = [spec.get("filter"), *(f for _, f in TEMPLATE_RE.findall(spec.get("template") or "") if f)]
        bad = [f for f in filters if f and f not in FILTERS and f not in NORMALISERS]
        if bad:
            raise MappingError(f"{where}: unknown filter {bad[0]!r}; known: {', '.join([*FILTERS, *NORMALISERS])}")
        if spec.get("unmapped", "keep") not in ("keep", "drop"):
            raise MappingError(f"{where}: unmapped is keep (the default) or drop")
        cols = spec.get("column") or ()
        split = spec.get("split") or ()
        return cls(columns=tuple([cols] if isinstance(cols, str) else cols), value=spec.get("value"),
                   template=spec.get("template"), split=tuple([split] if isinstance(split, str) else split),
                   map={str(k): v for k, v in (spec.get("map") or {}).items()}, filter=spec.get("filter"),
                   default=spec.get("default"), first=bool(spec.get("first")),
                   drop_unmapped=spec.get("unmapped") == "drop")

    @property
    def field_name(self) -> str:
        """What a rejection names: the source column, which is what the file's owner can fix."""
        return self.columns[0] if self.columns else (self.template or "(constant)")

    def _fill(self, template: str, row: Any, value: Any = None, fixes: Fixes | None = None) -> str:
        def sub(m: re.Match[str]) -> str:
            name, filt = m.group(1), m.group(2)
            raw = value if name == "value" and value is not None else lookup(row, name)
            vals = _flat(raw)
            if not vals:
                raise RowError(name, "empty, but the template needs it")
            return _apply_filter(filt, vals[0], name, fixes)

        return TEMPLATE_RE.sub(sub, template)

    def values(self, row: Any, fixes: Fixes | None = None) -> list[Any]:
        """Every value this spec yields for the row, in order, empty ones dropped; the rules
        of normalising filters that changed a value are added to `fixes`."""
        if self.columns:
            raw = [v for col in self.columns for v in _flat(lookup(row, col))]
        elif self.template is not None:
            raw = [self._fill(self.template, row, fixes=fixes)]
        else:
            raw = _flat(self.value)
        if self.split:
            pattern = "|".join(re.escape(s) for s in self.split)
            raw = [p for v in raw for p in (re.split(pattern, v) if isinstance(v, str) else [v])]
        out: list[Any] = []
        for v in raw:
            if isinstance(v, dict):
                raise RowError(self.field_name, "an object where a value belongs (use a dotted path)")
            if isinstance(v, str):
                v = v.strip()
                if not v:
                    continue
            if self.drop_unmapped and str(v) not in self.map:
                continue
            v = self.map.get(str(v), v)
            if self.filter:
                v = _apply_filter(self.filter, v, self.field_name, fixes)
            if self.columns and self.template is not None:
                v = self._fill(self.template, row, v, fixes)
            if v in (None, ""):  # mapped or filtered to nothing
                continue
            out.append(v)
            if self.first:
                break
        if not out and self.default not in (None, ""):
            out = _flat(self.default)
        return out

    def one(self, row: Any, fixes: Fixes | None = None) -> Any:
        vals = self.values(row, fixes)
        if len(vals) > 1:
            raise RowError(self.field_name, f"{len(vals)} values for a single-valued field", "; ".join(map(str, vals)))
        return vals[0] if vals else None


@dataclass(frozen=True)
class Relation:
    type: str
    target: ValueSpec
    outgoing: bool
    props: dict[str, ValueSpec]


@dataclass
class Mapping:
    """A compiled mapping; `apply` turns one row into records or raises RowError."""

    label: str | None
    id: ValueSpec | None
    source: ValueSpec | None
    fields: dict[str, ValueSpec]
    extra: dict[str, ValueSpec]
    relations: list[Relation]
    edge: dict[str, ValueSpec]  # edge mode: type, source_id, target_id
    edge_props: dict[str, ValueSpec]
    schema: Schema

    @classmethod
    def parse(cls, spec: dict[str, Any], where: str, schema: Schema | None = None) -> Mapping:
        schema = schema or load_schema()
        if not isinstance(spec, dict):
            raise MappingError(f"{where}: a `mapping` object is required (docs/sources.md)")
        if "label" in spec:
            return cls._parse_nodes(spec, where, schema)
        if "source_id" in spec:
            return cls._parse_edges(spec, where, schema)
        raise MappingError(f"{where}: a mapping needs `label` (rows are nodes) or `source_id` (rows are edges)")

    @classmethod
    def _parse_nodes(cls, spec: dict[str, Any], where: str, schema: Schema) -> Mapping:
        _known(spec, NODE_KEYS, where)
        try:
            label = schema.label(spec["label"])
        except SchemaError as exc:
            raise MappingError(f"{where}: {exc.reason}") from None
        if "id" not in spec:
            raise MappingError(f"{where}: `id` is required: a column or a template of strong keys, never a row number")
        id_spec = ValueSpec.parse(spec["id"], f"{where}: id")
        if not id_spec.columns and not id_spec.template:
            raise MappingError(f"{where}: id: a constant would give every row the same id")
        fields = {}
        for prop, vspec in (spec.get("fields") or {}).items():
            if prop not in label.props:
                raise MappingError(f"{where}: fields: {label.name} has no property {prop!r}; known: {', '.join(label.props)}")
            fields[prop] = ValueSpec.parse(vspec, f"{where}: fields.{prop}")
        extra_spec = spec.get("extra") or {}
        if isinstance(extra_spec, list):
            extra_spec = {c: c for c in extra_spec}
        relations = []
        for i, rel in enumerate(spec.get("relations") or [], 1):
            w = f"{where}: relations #{i}"
            _known(rel, RELATION_KEYS, w)
            if rel.get("type") not in schema.relationships:
                raise MappingError(f"{w}: unknown relationship type {rel.get('type')!r}; known: {', '.join(schema.relationships)}")
            if rel.get("direction", "out") not in ("out", "in"):
                raise MappingError(f"{w}: direction is out (this row -> target) or in")
            relations.append(Relation(rel["type"], ValueSpec.parse(rel.get("target"), f"{w}: target"),
                                      rel.get("direction", "out") == "out", _edge_props(rel.get("props"), w, schema)))
        return cls(label.name, id_spec, _opt(spec.get("source"), f"{where}: source"), fields,
                   {k: ValueSpec.parse(v, f"{where}: extra.{k}") for k, v in extra_spec.items()},
                   relations, {}, {}, schema)

    @classmethod
    def _parse_edges(cls, spec: dict[str, Any], where: str, schema: Schema) -> Mapping:
        _known(spec, EDGE_KEYS, where)
        edge = {k: ValueSpec.parse(spec.get(k), f"{where}: {k}") for k in ("type", "source_id", "target_id")}
        if edge["type"].value is not None and edge["type"].value not in schema.relationships:
            raise MappingError(f"{where}: unknown relationship type {edge['type'].value!r}")
        return cls(None, None, _opt(spec.get("source"), f"{where}: source"), {}, {}, [], edge,
                   _edge_props(spec.get("props"), where, schema), schema)

    def apply(self, row: Any, feed: str, file: str, line: int, batch: Batch) -> None:
        """Add the row's records to the batch, or one rejection naming the bad field."""
        where = f"{file}:{line}"
        notes: list[tuple[str, str]] = []  # (field, what was removed) from prose values
        fixes: Fixes = []  # what normalising filters changed
        try:
            source = str(self.source.one(row, fixes) or feed) if self.source else feed
            _key(self.source.field_name if self.source else "source", source)
            if self.label is None:
                edge = self._edge(row, source, feed, where, notes, fixes)
                batch.edges.append(edge)
                batch.warnings += [ReadWarning(feed, file, line, f, why) for f, why in notes]
                batch.note_fixes(feed, file, line, fixes)
                return
            node_id = self.id.one(row, fixes) if self.id else None
            if not node_id:
                raise RowError(self.id.field_name if self.id else "id", "empty id")
            _key(self.id.field_name if self.id else "id", node_id)
            label = self.schema.labels[self.label]
            props = {}
            for prop, vspec in self.fields.items():
                spec = label.props[prop]
                raw = vspec.values(row, fixes) if spec.type == "string[]" else vspec.one(row, fixes)
                try:
                    props[prop] = coerce_value(spec, raw)
                except SchemaError as exc:
                    raise RowError(vspec.field_name, f"{prop}: {exc.reason}", raw) from None
                props[prop] = _screen(vspec.field_name, props[prop], is_prose(spec, label), notes)
            self._check_required(props)
            extra = {k: _screen(spec.field_name, v, True, notes)
                     for k, spec in self.extra.items() if (v := spec.one(row, fixes)) is not None}
            edges = []
            for rel in self.relations:
                for target in rel.target.values(row, fixes):
                    _key(rel.target.field_name, target)
                    edges.append(self._relation(rel, str(node_id), target, row, source, feed, where, notes, fixes))
        except RowError as exc:
            batch.rejected.append(Rejection(feed, file, line, exc.field, exc.reason, exc.value))
            return
        batch.nodes.append(NodeRecord(self.label, str(node_id), props, source, feed, where, extra))
        batch.edges += edges
        batch.warnings += [ReadWarning(feed, file, line, f, why) for f, why in notes]
        batch.note_fixes(feed, file, line, fixes)

    def _check_required(self, props: dict[str, Any]) -> None:
        label = self.schema.labels[str(self.label)]
        if label.required_any and not any(props.get(n) for n in label.required_any):
            raise RowError("|".join(label.required_any), "no name: at least one is required")
        for name, prop in label.props.items():
            if prop.required and not props.get(name):
                raise RowError(name, f"required; one of {', '.join(prop.enum)}" if prop.enum else "required")

    def _props(self, specs: dict[str, ValueSpec], row: Any, notes: list[tuple[str, str]],
               fixes: Fixes) -> dict[str, Any]:
        out = {}
        for prop, vspec in specs.items():
            raw = vspec.one(row, fixes)
            spec = self.schema.edge_props[prop]
            try:
                out[prop] = coerce_value(spec, raw)
            except SchemaError as exc:
                raise RowError(vspec.field_name, f"{prop}: {exc.reason}", raw) from None
            out[prop] = _screen(vspec.field_name, out[prop], is_prose(spec), notes)
        return {k: v for k, v in out.items() if v is not None}

    def _relation(self, rel: Relation, node_id: str, target: Any, row: Any, source: str, feed: str,
                  where: str, notes: list[tuple[str, str]], fixes: Fixes) -> EdgeRecord:
        a, b = (node_id, str(target)) if rel.outgoing else (str(target), node_id)
        return EdgeRecord(rel.type, a, b, self._props(rel.props, row, notes, fixes), source, feed, f"{where} ({rel.type})")

    def _edge(self, row: Any, source: str, feed: str, where: str, notes: list[tuple[str, str]],
              fixes: Fixes) -> EdgeRecord:
        ends = {k: spec.one(row, fixes) for k, spec in self.edge.items()}
        for k, v in ends.items():
            if not v:
                raise RowError(self.edge[k].field_name, f"empty {k}")
            _key(self.edge[k].field_name, v)
        if ends["type"] not in self.schema.relationships:
            raise RowError(self.edge["type"].field_name, "unknown relationship type", ends["type"])
        return EdgeRecord(str(ends["type"]), str(ends["source_id"]), str(ends["target_id"]),
                          self._props(self.edge_props, row, notes, fixes), source, feed, where)


def _screen(field_name: str, value: Any, prose: bool, notes: list[tuple[str, str]]) -> Any:
    """A key value checked, or a prose value with its control characters removed (and noted)."""
    try:
        value, removed = screen(value, prose)
    except ControlCharacter as exc:
        raise RowError(field_name, exc.reason, exc.value[:80]) from None
    if removed:
        notes.append((field_name, removed))
    return value


def _key(field_name: str, value: Any) -> None:
    """An id, a name or another key with a control character rejects the row (ingest.cell_rules)."""
    _screen(field_name, value, False, [])


def _known(spec: Any, keys: set[str], where: str) -> None:
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected an object with {', '.join(sorted(keys))}")
    unknown = set(spec) - keys
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(keys))}")


def _opt(spec: Any, where: str) -> ValueSpec | None:
    return None if spec is None else ValueSpec.parse(spec, where)


def _edge_props(spec: dict[str, Any] | None, where: str, schema: Schema) -> dict[str, ValueSpec]:
    out = {}
    for prop, vspec in (spec or {}).items():
        if prop not in schema.edge_props:
            raise MappingError(f"{where}: props: unknown edge property {prop!r}; known: {', '.join(schema.edge_props)}")
        out[prop] = ValueSpec.parse(vspec, f"{where}: props.{prop}")
    return out


def _columns(spec: ValueSpec | None) -> set[str]:
    """Top-level columns one value reads: its own, and those its template names."""
    if spec is None:
        return set()
    return {*spec.columns, *(name for name, _ in TEMPLATE_RE.findall(spec.template or "") if name != "value")}


def referenced_columns(m: Mapping) -> set[str]:
    """Top-level columns a mapping reads: a CSV whose header lacks one is refused as a whole,
    since every row would otherwise be rejected (or, worse, loaded without that value)."""
    specs = [m.id, m.source, *m.fields.values(), *m.extra.values(), *m.edge.values(), *m.edge_props.values()]
    for rel in m.relations:
        specs += [rel.target, *rel.props.values()]
    return {col for spec in specs for col in _columns(spec)}


def key_columns(m: Mapping) -> set[str]:
    """Columns that feed an id, a name or another key (ingest.cell_rules): a quoted cell of one
    of them must close on its line, so a stray quote there cannot swallow the next rows."""
    label = m.schema.labels.get(m.label or "")
    specs = [m.id, m.source, *m.edge.values(), *(rel.target for rel in m.relations)]
    if label is not None:
        specs += [v for prop, v in m.fields.items() if not is_prose(label.props[prop], label)]
    edge_props = [*m.edge_props.items(), *(item for rel in m.relations for item in rel.props.items())]
    specs += [v for prop, v in edge_props if not is_prose(m.schema.edge_props[prop])]
    return {col for spec in specs for col in _columns(spec)}
