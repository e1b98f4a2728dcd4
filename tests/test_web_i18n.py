"""Both languages: every message key the templates and code use exists in Chinese and English,
every schema field and relationship type has a label, and switching works."""

from __future__ import annotations

import re
from pathlib import Path

from kg.schema import load_schema
from web.messages import MESSAGES

WEB = Path(__file__).resolve().parents[1] / "web"
STATIC_KEY = re.compile(r"""\bt\(\s*['"]([a-z_]+\.[A-Za-z0-9_.]+)['"]\s*[,)]""")
# Messages whose languages word a number differently (亿元 vs million) on purpose.
OWN_PLACEHOLDERS = {"pipeline.investment"}


def test_catalogue_has_both_languages() -> None:
    for key, (zh, en) in MESSAGES.items():
        assert zh.strip() and en.strip(), key
        if key not in OWN_PLACEHOLDERS:
            assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key


def test_every_literal_key_exists() -> None:
    used = set()
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("*.py")]:
        used |= set(STATIC_KEY.findall(path.read_text(encoding="utf-8")))
    missing = sorted(k for k in used if k not in MESSAGES)
    assert not missing, missing


def test_dynamic_keys_exist() -> None:
    schema = load_schema()
    fields = {p for label in schema.labels.values() for p in label.props} | set(schema.edge_props) | set(schema.provenance)
    missing = [f"field.{f}" for f in sorted(fields) if f"field.{f}" not in MESSAGES and f not in ("extra", "feeds",
                                                                                                   "content_hash", "staff_fields",
                                                                                                   "source_record_id", "confidence",
                                                                                                   "extracted")]
    missing += [f"rel.{r}.{d}" for r in schema.relationships for d in ("out", "in") if f"rel.{r}.{d}" not in MESSAGES]
    for name, prop in ((n, p) for label in schema.labels.values() for n, p in label.props.items()):
        missing += [f"{name}.{v}" for v in prop.enum if f"{name}.{v}" not in MESSAGES]
    missing += [f"label.{label}" for label in schema.labels if f"label.{label}" not in MESSAGES]
    try:
        from matching.recommend import SIGNALS
    except ImportError:
        SIGNALS = ()
    missing += [f"signal.{name}" for name in SIGNALS if f"signal.{name}" not in MESSAGES]
    assert not missing, missing


def test_switch_language_and_names(client, auth, view) -> None:
    from matching.search import search

    smic = search(view, "SMIC", labels=["Organization"], limit=1)[0]
    auth.login("staff")
    client.get("/lang/zh")
    zh = client.get(f"/entities/{smic.id}").get_data(as_text=True)
    assert "关键信息" in zh and f'<h1 id="entity-name">{smic.name_zh}' in zh
    back = client.get("/lang/en?next=/projects")
    assert back.headers["Location"] == "/projects"
    en = client.get(f"/entities/{smic.id}").get_data(as_text=True)
    assert "Key facts" in en and f'<h1 id="entity-name">{smic.name_en}' in en
    assert client.get("/lang/fr").status_code == 404


def test_language_survives_login(client) -> None:
    from conftest import USERS

    client.get("/lang/en")
    client.post("/login", data=dict(zip(("username", "password"), USERS["staff"], strict=True)))
    assert "Log out" in client.get("/").get_data(as_text=True)
