"""Chinese and English for the UI: a dict catalogue (web/messages.py), the language kept in the
session, and names shown in the chosen language where both exist.

A dict and not gettext/Babel: two languages, a few hundred strings, and a test that every key a
template uses exists in both (tests/test_web_i18n.py) is all the tooling this needs.
"""

from __future__ import annotations

import re
import time
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request, session, url_for
from flask.globals import _cv_app
from markupsafe import Markup

from kg.schema import caption
from web.messages import MESSAGES

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"


# The reader's language for the request being handled by this thread (or task): set when the
# request starts. A page asks hundreds of times (every option of a select); parsing
# Accept-Language each time was a third of a search page's CPU, and even a lookup on flask.g
# through its proxy cost a tenth.
_current: ContextVar[tuple[int, str] | None] = ContextVar("stakegraph_lang", default=None)


def _work_out() -> str:
    chosen = session.get("lang")
    if chosen in LANGS:
        return chosen
    return request.accept_languages.best_match(LANGS, default=DEFAULT_LANG) or DEFAULT_LANG


def lang() -> str:
    """The reader's language: the session's choice, else the browser's, else Chinese. Keyed by
    the app context (one a request) read straight from its context variable: through the `g`
    proxy this lookup was still ~2 us, times ~700 a project page."""
    cur = _current.get()
    ctx = id(_cv_app.get(None))
    if cur is not None and cur[0] == ctx:
        return cur[1]
    chosen = _work_out()
    _current.set((ctx, chosen))
    return chosen


def _start_request() -> None:
    _current.set((id(_cv_app.get(None)), _work_out()))


def stated_lang() -> str | None:
    """The language the reader chose or their browser asks for; None when neither says (a
    script). Downloads use it: a Chinese reader gets Chinese column headers, a script that
    states nothing keeps the plain keys it parses."""
    chosen = session.get("lang")
    if chosen in LANGS:
        return chosen
    return request.accept_languages.best_match(LANGS) if request.accept_languages else None


def t(key: str, **params: Any) -> str:
    """The message in the current language; an unknown key shows as itself (tests catch those)."""
    if params.get("n") == 1 and f"{key}_one" in MESSAGES:  # "1 result", not "1 results"
        key = f"{key}_one"
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry[0] if lang() == "zh" else entry[1]
    return text.format(**params) if params else text


def tv(prefix: str, value: Any) -> str:
    """An enum value's label (kind.listed_company → 上市公司), or the value itself when unlisted."""
    if value in (None, ""):
        return ""
    key = f"{prefix}.{value}"
    return t(key) if key in MESSAGES else str(value)


def name_of(obj: Any, language: str | None = None) -> str:
    """Display name of a Node, Hit, Recommendation or props dict in the chosen language: the
    schema's caption rule for the object's label (kg/schema.yaml)."""
    language = language or lang()
    if obj is None:
        return ""
    props = getattr(obj, "props", None)
    if props is None:
        props = obj if isinstance(obj, dict) else {"name_zh": getattr(obj, "name_zh", None),
                                                   "name_en": getattr(obj, "name_en", None)}
    label = getattr(obj, "label", None) or props.get("label") or "Organization"
    ident = getattr(obj, "id", None) or getattr(obj, "org_id", None) or props.get("id") or ""
    return caption(label, props, language, ident)


def other_name(obj: Any) -> str:
    """The name in the other language, shown small beside the main one (when it differs)."""
    other = "en" if lang() == "zh" else "zh"
    main, alt = name_of(obj), name_of(obj, other)
    return "" if alt == main else alt


_HAN = re.compile(r"[\u3400-\u9fff]")


def split_languages(text: str) -> dict[str, str]:
    """A text that carries both languages in one cell ("English sentences. 中文句子。") split
    into its English and Chinese sentences; a text of one language is all that language."""
    zh, en = [], []
    for part in re.split(r"(?<=[。！？])|(?<=[.!?])\s+", text or ""):
        part = part.strip()
        if part:
            (zh if _HAN.search(part) and len(_HAN.findall(part)) * 3 >= len(part.replace(" ", "")) else en).append(part)
    return {"zh": "".join(zh), "en": " ".join(en)}


def in_lang(value: Any, props: dict[str, Any] | None = None, field: str = "") -> dict[str, Any]:
    """Prose or a list in the reader's language first: the `<field>_zh` / `<field>_en` twin when
    a source gives one, else the sentences of that language; failing both, the other language,
    marked (`fallback` names it) so the reader knows why it is not in theirs."""
    want = lang()
    other = "en" if want == "zh" else "zh"
    if props and field:
        for code in (want, other):
            twin = props.get(f"{field}_{code}")
            if twin:
                return {"text": twin, "fallback": code if code != want else ""}
    if value in (None, "", []):
        return {"text": value, "fallback": ""}
    if isinstance(value, list):
        mine = [x for x in value if (bool(_HAN.search(str(x))) == (want == "zh"))]
        return {"text": value, "fallback": "" if mine or not value else other}
    parts = split_languages(str(value))
    if parts[want]:
        return {"text": parts[want], "fallback": ""}
    return {"text": parts[other] or str(value), "fallback": other}


def role_text(role: str) -> dict[str, Any]:
    from web.role_names import role_in

    text, fallback = role_in(role or "", lang())
    return {"text": text, "fallback": ("en" if lang() == "zh" else "zh") if fallback else ""}


def reasons(rec: Any) -> list[str]:
    return list((rec.reasons_zh if lang() == "zh" else rec.reasons_en) or rec.reasons_en or rec.reasons_zh or [])


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


def run_date(run_id: str | None) -> str:
    """r20250101T101500123-00042 → 2025-01-01 10:15 (UTC), the way run ids are named."""
    if not run_id or not run_id.startswith("r") or len(run_id) < 16:
        return run_id or ""
    s = run_id[1:]
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]} {s[9:11]}:{s[11:13]} UTC"


def host(url: str) -> str:
    """A source URL shown short, by its site (www.smics.com)."""
    return urlsplit(url).netloc or url


def entity_link(node: Any, pending: bool = False) -> Markup:
    """A link to an entity's page with its name in the reader's language and the other one small.

    Python, not a template macro: a hub's relations, a search page and a change list call it
    dozens to hundreds of times a page, and a macro call cost about 0.1 ms."""
    html = Markup('<a href="{}" class="entity label-{}">{}</a>').format(
        url_for("entities.entity", node_id=node.id), node.label, name_of(node))
    other = other_name(node)
    if other:
        html += Markup(' <small class="other">{}</small>').format(other)
    if pending:
        html += Markup(' <span class="badge pending">{}</span>').format(t("edit.pending"))
    return html


def init_app(app: Flask) -> None:
    app.before_request(_start_request)
    app.jinja_env.globals.update(t=t, tv=tv, lang=lang, LANGS=LANGS, reasons=reasons, in_lang=in_lang,
                                  role_text=role_text, entity_link=entity_link)
    from web.money import money

    app.jinja_env.filters.update(dname=name_of, othername=other_name, when=when, run_date=run_date, host=host,
                                 money=lambda x: money(x, lang()))
