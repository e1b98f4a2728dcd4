"""Every page in Chinese shows no English UI string, and every page in English shows no Chinese
UI string; data (names, descriptions, ids, sources, roles as the sources give them) may be in
either language, and text a page marks as the other language (lang="en") is a marked fallback.

How it tells UI from data: every text node of the page is checked; one that is part of some
value in the graph or the workspace (a name, an alias, a description, an evidence quote, a
source, an id, a username) is data and passes; any other with a Latin word (in zh mode) or a
Han character (in en mode) fails, unless the word is a proper name or acronym on the allow-list.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from matching.search import search

# Proper names, acronyms and notations a Chinese page writes in Latin letters on purpose.
ALLOWED = {
    "stakegraph", "CSV", "XLSX", "Excel", "API", "JSON", "Cypher", "LIMIT", "MATCH", "English", "HTML", "URL",
    "http", "https", "www", "zxgj", "SMIC", "AI", "HBM", "CoWoS", "PCB", "CPU", "GPU", "DCU", "DRAM", "TSV", "ABF",
    "CNY", "STAKEGRAPH_HOME", "admin_password", "txt", "ms", "org", "proj", "id", "CAS", "Ascend", "AIDC",
    "UTC", "Atlantis", "PageRank", "LightGBM",  # the time zone of run times; the made-up region the walk itself asks for
}
HAN = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
SKIP_TAGS = {"script", "style", "textarea", "code", "template", "option"}


class _Text(HTMLParser):
    """Visible text nodes, leaving out scripts, code, the query box and anything marked as
    another language (lang="en" in a zh page) with everything inside it."""

    def __init__(self, page_lang: str):
        super().__init__(convert_charrefs=True)
        self.page_lang = page_lang
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []
        self.attr_texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        other = (a.get("lang") or "").split("-")[0] not in ("", self.page_lang)
        skip = tag in SKIP_TAGS or other or "mono" in (a.get("class") or "").split()
        if tag not in ("input", "br", "meta", "link", "img", "hr"):
            self.stack.append((tag, skip))
        for name in ("placeholder", "title", "aria-label"):
            if a.get(name) and not skip and not any(s for _, s in self.stack[:-1]):
                self.attr_texts.append(a[name])

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        if data.strip() and not any(s for _, s in self.stack):
            self.texts.append(data.strip())


NAME_PROPS = {"name_en", "name_zh", "aliases", "city", "province", "country", "source", "sources", "role",
              "stock_code", "website", "url", "owner"}


@pytest.fixture
def data(view, app) -> tuple[str, set[str]]:
    """Every string value in the graph (a page may show any of them, or a sentence of one, as
    data) and the words of names, places, sources and usernames (which a sentence of the UI
    may quote: "admin 于 … 修改：城市从“Shanghai”改为“无锡”")."""
    from kg.schema import load_schema
    from web.role_names import ROLE_EN, ROLE_ZH
    from web.state import workspace

    parts: list[str] = []
    words: set[str] = set()

    def add(key: str, x) -> None:
        values = [str(v) for v in x] if isinstance(x, list) else [x] if isinstance(x, str) else []
        parts.extend(values)
        if key in NAME_PROPS or key == "id":
            for v in values:
                words.update(LATIN_WORD.findall(v))

    schema = load_schema()
    for label in schema.labels:
        for batch in view.iter_nodes(label):
            for n in batch:
                add("id", n.id)
                for k, x in n.props.items():
                    add(k, x)
    for rel in schema.relationships:
        for batch in view.iter_edges(rel):
            for e in batch:
                for k, x in e.props.items():
                    add(k, x)
    with app.app_context():
        for u in workspace().users():
            add("id", u["username"])
    for role in [*ROLE_EN.values(), *ROLE_ZH.values()]:
        add("role", role)
    return "\n".join(parts), words


def _pages(client, view, app) -> list[str]:
    smic = search(view, "SMIC", labels=["Organization"], limit=1)[0].id
    person = next(iter(view.iter_nodes("Person")))[0].id
    sector = next(iter(view.iter_nodes("Sector")))[0].id
    return ["/", "/search?q=中芯", "/search?q=zxgj", f"/entities/{smic}", f"/entities/{person}", f"/entities/{sector}",
            f"/entities/{smic}/print", f"/entities/{smic}/edit", "/entities/new/Organization", "/projects",
            "/projects/proj-jiangyin-advanced-packaging", "/projects/proj-jiangyin-advanced-packaging/brief",
            "/projects/new", "/changes", "/changes?region=无锡", "/changes?region=Atlantis", "/chain", "/console",
            "/admin/users", "/admin/audit", "/no-such-page"]


def _bad(page: str, lang: str, data: tuple[str, set[str]]) -> list[str]:
    blob, name_words = data
    parser = _Text(lang)
    parser.feed(page)
    bad = []
    for text in [*parser.texts, *parser.attr_texts]:
        for piece in re.split(r"\s*[·|、，,；;：:“”\"（）()]\s*", text):
            piece = piece.strip(" '。.").removesuffix("...").removesuffix("…")
            if not piece or piece in blob:  # data: a name, a sentence of a description, a source
                continue
            if lang == "zh":
                words = [w for w in LATIN_WORD.findall(piece) if w not in ALLOWED and w not in name_words]
                if words:
                    bad.append(f"{piece!r} ({', '.join(words)})")
            elif HAN.search(piece) and not all(w in blob for w in re.findall(r"[\u3400-\u9fff]+", piece)):
                bad.append(repr(piece))
    return bad


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_page_speaks_one_language(client, auth, app, view, data, language) -> None:
    auth.login("admin")  # sees every page, the console and the staff tools included
    client.get(f"/lang/{language}")
    failures = {}
    for path in _pages(client, view, app):
        r = client.get(path)
        assert r.status_code in (200, 400, 404), (path, r.status_code)
        bad = _bad(r.get_data(as_text=True), language, data)
        if bad:
            failures[path] = bad[:8]
    assert not failures, "\n".join(f"{p}: {b}" for p, b in failures.items())
