"""The search index's fields: the tantivy schema and how one entity becomes one document.

An analyzer per field, so a query and a name meet however either was typed:

* ``k_*`` key fields hold whole normalised keys (matching.search.keys.norm) as single terms, one
  field per kind of key (names, aliases, pinyin, initials, codes, id), so an exact key is one
  term lookup and a prefix one range of the term dictionary;
* ``k_part`` holds keys of a name from a later character, word or syllable on (江苏长电科技 →
  长电科技…, changdiankeji…), for the "part" tier;
* ``zh`` and ``text_zh`` hold the overlapping character pairs of Chinese names and of
  descriptions and needs, with positions: a query word (jieba splits the query) is a phrase of
  its pairs, which finds it anywhere. Segmenting a million names with jieba at build time cost
  about 4.5 minutes here (27 s per 100,000 names); pairs cost nothing and find the same words;
* ``en`` and ``text_en`` hold English words, stemmed (packaging = package), scored by BM25;
  ``en_raw`` the same words unstemmed, for typo (fuzzy) matching;
* filter fields ``label``, ``kind``, ``region`` and ``sector`` (each place or chain link with
  every one above it, so Wuxi matches firms in Jiangyin), ``tier``, and ``merged`` (ids merged
  into this entity);
* ``doc`` stores what a hit shows and the keys that explain its match; ``w`` the entity's
  weight among equal matches (label, then shorter names first), applied by tantivy as
  score × log2(2 + w).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import tantivy

from matching.search.hits import LABEL_WEIGHT
from matching.search.keys import han_bigrams, han_keys, latin_words, name_parts, norm, pinyin_parts, stock_key

__all__ = ["KEY_FIELDS", "SCHEMA_VERSION", "entity_doc", "input_hash", "make_schema", "register_analyzers", "stem"]

SCHEMA_VERSION = 1  # bump when fields or analyzers change: an older index is rebuilt, not updated
#: Whole-key fields and how much a match in each counts (a name or code above an alias, pinyin...).
KEY_FIELDS = {"k_name": 1.0, "k_code": 1.0, "k_alias": 0.97, "k_pinyin": 0.95, "k_initials": 0.93, "k_id": 0.9}
FILTER_FIELDS = ("label", "kind", "region", "sector", "tier")
EN_STEM = "sg_en_stem"
INPUT_PROPS = ("name_zh", "name_en", "aliases", "kind", "stock_code", "stock_codes", "credit_code", "pinyin",
               "initials", "city", "description", "needs", "keywords", "tier", "merged_ids")
MAX_TEXT_CHARS = 4000  # of a description: enough for its words, and a bound on one document


def make_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=False, tokenizer_name="raw", index_option="basic")
    for name in FILTER_FIELDS:
        sb.add_text_field(name, tokenizer_name="raw", fast=True, index_option="basic")
    sb.add_text_field("merged", tokenizer_name="raw", index_option="basic")
    for name in [*KEY_FIELDS, "k_part"]:
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("zh", tokenizer_name="whitespace", index_option="position")
    sb.add_text_field("text_zh", tokenizer_name="whitespace", index_option="position")
    sb.add_text_field("en", tokenizer_name=EN_STEM, index_option="freq")
    sb.add_text_field("text_en", tokenizer_name=EN_STEM, index_option="freq")
    sb.add_text_field("en_raw", tokenizer_name="whitespace", index_option="basic")
    sb.add_float_field("w", fast=True)
    sb.add_bytes_field("doc", stored=True)
    return sb.build()


def _en_analyzer() -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stemmer("english")).build())


_EN = _en_analyzer()


def register_analyzers(index: tantivy.Index) -> None:
    """Tokenizers are not stored in the index: every writer and reader registers them."""
    index.register_tokenizer(EN_STEM, _en_analyzer())


def stem(word: str) -> list[str]:
    """A query word as the English fields index it."""
    return _EN.analyze(word)


def doc_weight(label: str, names: Iterable[str]) -> float:
    """The w field: tantivy multiplies a score by log2(2 + w), so w = 2^m - 2 gives factor m;
    m is the label's weight, less up to 10% for a long shortest name (中芯国际 before
    中芯国际集成电路制造(北京)有限公司 when both match alike)."""
    shortest = min((len(n) for n in names if n), default=30)
    m = LABEL_WEIGHT.get(label, 0.8) * (1.0 - 0.002 * min(shortest, 50))
    return 2.0 ** m - 2.0


def entity_doc(node_id: str, label: str, p: dict[str, Any], regions: Iterable[str] = (),
               sectors: Iterable[str] = ()) -> dict[str, list[Any]]:
    """The document of one entity: field -> values."""
    name_zh, name_en = p.get("name_zh") or "", p.get("name_en") or ""
    aliases = [a for a in (p.get("aliases") or []) if a]
    if label == "Sector":  # a chain link's keywords (先进封装, OSAT) are what people call it
        aliases += [k for k in (p.get("keywords") or []) if k and k not in aliases]
    names = [n for n in (name_zh, name_en, *aliases) if n]
    codes = [stock_key(c) or norm(c) for c in (p.get("stock_code"), *(p.get("stock_codes") or [])) if c]
    codes += [norm(p.get("credit_code"))] if p.get("credit_code") else []
    pinyin, initials = [p.get("pinyin") or ""], [p.get("initials") or ""]
    parts: list[str] = []
    for n in (name_zh, *aliases):
        for f, k in han_keys(n):
            (pinyin if f == "pinyin" else initials).append(k)
        parts += pinyin_parts(n)
    for n in names:
        parts += name_parts(n)
    texts = [p.get("description") or "", *(p.get("needs") or [])]
    text = " ".join(t for t in texts if t)[:MAX_TEXT_CHARS]
    en_words = [w for n in names for w in latin_words(n)]
    keys = {
        "k_name": _distinct(norm(n) for n in (name_zh, name_en)),
        "k_alias": _distinct(norm(a) for a in aliases),
        "k_pinyin": _distinct(pinyin),
        "k_initials": _distinct(initials),
        "k_code": _distinct(codes),
        "k_id": _distinct([norm(node_id)]),
    }
    shown = {"id": node_id, "label": label, "name_zh": name_zh, "name_en": name_en, "kind": p.get("kind") or "",
             "city": p.get("city") or "", "keys": keys, "sectors": _distinct(sectors)}
    fields: dict[str, list[Any]] = {
        "id": [node_id],
        "label": [label],
        "kind": _distinct([p.get("kind") or ""]),
        "region": _distinct(regions),
        "sector": _distinct(sectors),
        "tier": _distinct([p.get("tier") or ""]),
        "merged": _distinct(p.get("merged_ids") or []),
        **keys,
        "k_part": _distinct(parts),
        "zh": [" ".join(b) for n in (name_zh, *aliases) if (b := han_bigrams(n))],
        "text_zh": [" ".join(han_bigrams(text))] if text else [],
        "en": [" ".join(en_words)] if en_words else [],
        "text_en": [text] if text else [],
        "en_raw": [" ".join(_distinct(en_words))] if en_words else [],
        "w": [doc_weight(label, names)],
    }
    fields = {k: v for k, v in fields.items() if v and v != [""]}
    fields["doc"] = [json.dumps(shown, ensure_ascii=False).encode()]
    return fields


def input_hash(node_id: str, label: str, p: dict[str, Any], regions: Iterable[str], sectors: Iterable[str]) -> str:
    """A hash of everything an entity's document is made from, so a refresh rebuilds only the
    documents whose hash changed (hashing is ~20 times cheaper than making the document)."""
    payload = [SCHEMA_VERSION, node_id, label, [p.get(k) for k in INPUT_PROPS], sorted(regions), sorted(sectors)]
    return hashlib.sha1(json.dumps(payload, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def _distinct(values: Iterable[str]) -> list[str]:
    return [v for v in dict.fromkeys(values) if v]
