"""Edit forms for organisations, people and projects, derived from kg/schema.yaml.

The fields a staff member may edit are the label's schema properties minus the derived ones, so
adding a property to the schema adds it to the form. Only fields whose value actually changed
are recorded: a staff value pins the field against later source updates (jobs.refresh), and
re-saving an untouched form must not pin everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kg.schema import load_schema
from web import validation as v
from web.money import YI

EDITABLE_LABELS = ("Organization", "Person", "Project")
DERIVED = {"pinyin", "initials", "sector_tags", "stock_codes"}  # and every summary the schema marks hashed: false
MULTILINE = {"description", "text"}
SHORT_FIELDS = {"stock_code", "credit_code", "city", "province", "country", "website", "owner", "gender", "url"}
NAME_FIELDS = {"name_zh", "name_en"}
IN_YI = {"investment_cny"}  # typed in 亿元, the unit the office thinks in; stored in yuan


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string | string[] | float | int | bool
    widget: str  # text | textarea | list | select | number
    choices: tuple[str, ...] = ()
    required: bool = False
    max_chars: int = v.MAX_SHORT_CHARS


def fields_for(label: str) -> list[Field]:
    if label not in EDITABLE_LABELS:
        raise ValueError(f"{label} is not editable from the web app")
    spec = load_schema().label(label)
    out: list[Field] = []
    for name, prop in spec.props.items():
        if name in DERIVED or not prop.hashed:  # derived, never typed in
            continue
        if prop.enum:
            widget = "select"
        elif prop.type == "string[]":
            widget = "list"
        elif name in IN_YI:
            widget = "yi"
        elif prop.type in ("float", "int"):
            widget = "number"
        elif name in MULTILINE:
            widget = "textarea"
        else:
            widget = "text"
        limit = v.MAX_TEXT_CHARS if name in MULTILINE else v.MAX_NAME_CHARS if name in NAME_FIELDS else v.MAX_SHORT_CHARS
        out.append(Field(name, prop.type, widget, tuple(prop.enum), prop.required, limit))
    return out


def parse(label: str, form: Any) -> tuple[dict[str, Any], list[v.FormError]]:
    """Every editable field of the form, cleaned; errors are collected, not raised one by one."""
    values: dict[str, Any] = {}
    errors: list[v.FormError] = []
    for f in fields_for(label):
        raw = form.get(f.name, "")
        try:
            values[f.name] = _clean(f, raw)
        except v.FormError as exc:
            errors.append(exc)
    if not errors and not any(values.get(n) for n in NAME_FIELDS):
        errors.append(v.FormError("name_zh", "error.need_a_name"))
    return values, errors


def _clean(f: Field, raw: Any) -> Any:
    if f.widget == "select":
        return v.choice(raw, f.name, f.choices, required=f.required)
    if f.widget == "list":
        return v.items(raw, f.name)
    if f.widget == "yi":
        yi = v.number(raw, f.name, maximum=v.MAX_INVESTMENT_CNY / YI)
        return None if yi is None else round(yi * YI, 2)
    if f.widget == "number":
        return v.number(raw, f.name)
    if f.name in NAME_FIELDS:
        return v.name(raw, f.name)
    if f.name == "credit_code":
        return v.pattern(raw.upper() if isinstance(raw, str) else raw, f.name, v.CREDIT_CODE, "error.credit_code")
    if f.name == "stock_code":
        return v.pattern(raw, f.name, v.STOCK_CODE, "error.stock_code")
    if f.name in ("website", "url"):
        return v.pattern(raw, f.name, v.URL, "error.url")
    return v.text(raw, f.name, f.max_chars, multiline=f.widget == "textarea")


def changed(values: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The fields whose cleaned value differs from what the page showed (empty equals absent)."""
    out: dict[str, Any] = {}
    for k, new in values.items():
        old = current.get(k)
        if _blank(new) and _blank(old):
            continue
        if isinstance(new, float) and isinstance(old, (int, float)) and float(old) == new:
            continue
        if new != old:
            out[k] = new
    return out


def _blank(x: Any) -> bool:
    return x is None or x == "" or x == []


def form_values(props: dict[str, Any], label: str) -> dict[str, str]:
    """Props as the form shows them: lists one per line, numbers without a trailing .0."""
    out: dict[str, str] = {}
    for f in fields_for(label):
        x = props.get(f.name)
        if f.widget == "yi" and isinstance(x, (int, float)):
            out[f.name] = f"{x / YI:.4f}".rstrip("0").rstrip(".")
        elif isinstance(x, list):
            out[f.name] = "\n".join(map(str, x))
        elif isinstance(x, float) and x.is_integer():
            out[f.name] = str(int(x))
        else:
            out[f.name] = "" if x is None else str(x)
    return out


def keep_unchanged(label: str, form: Any, current: dict[str, Any], values: dict[str, Any],
                   errors: list[v.FormError]) -> list[v.FormError]:
    """Errors minus those of fields the user did not touch: a value a source gave in a form the
    checks refuse (a website written without http://) must not block editing the city. The
    untouched field keeps its current value and is not recorded as a change."""
    shown = form_values(current, label)
    out = []
    for e in errors:
        if e.field in shown and str(form.get(e.field, "")).strip() == shown[e.field].strip():
            values[e.field] = current.get(e.field)
        else:
            out.append(e)
    return out
