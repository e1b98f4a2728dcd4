"""A folder of news items or announcements (.txt / .md, Chinese or English) as a source.

Each file becomes one Document node; text extraction (ingest.extract) then links it to the
organisations and places it mentions. Ids come from the file's path inside the folder (plus
the feed name, so two folders never collide): editing a file changes the document, renaming
it makes a new one, and the old one is marked unseen, as for any row a source stops listing.

A file may open with front matter, either a `---` fenced block or plain `key: value` lines:
title, date (or published), url, language, source (kept as the publisher). Without a title
the first line is the title; without a date, a `YYYY-MM-DD-` file-name prefix is used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.records import Batch, NodeRecord, Rejection
from ingest.sources.registry import register_kind
from kg.schema import Schema

FRONT_KEYS = {"title", "date", "published", "url", "language", "lang", "source", "publisher"}
_KEY_LINE = re.compile(r"^([A-Za-z_]+)\s*[:：]\s*(.*)$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
ZH_SHARE = 0.3  # a text is Chinese when at least this share of its letters are Han characters


def detect_language(text: str) -> str:
    """zh or en, by the share of Han characters among letters. Enough for news in these two
    languages; an English item quoting 长电科技 once stays English, a Chinese item naming
    SK hynix stays Chinese."""
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    return "zh" if cjk and cjk / (cjk + latin) >= ZH_SHARE else "en"


def parse_date(text: str) -> str:
    """ISO date from 2024-03-12, 2024/3/12 or 2024年3月12日; ValueError when not a real date."""
    m = _DATE.match(text.strip())
    if not m:
        raise ValueError("not a date (expected YYYY-MM-DD)")
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()


def split_front_matter(text: str) -> tuple[dict[str, str], str, int]:
    """(front matter, body, the body's first line number)."""
    lines = text.split("\n")
    meta: dict[str, str] = {}
    if lines and lines[0].strip() == "---":
        for i, line in enumerate(lines[1:], 1):
            if line.strip() == "---":
                return meta, "\n".join(lines[i + 1:]), i + 2
            m = _KEY_LINE.match(line.strip())
            if m:
                meta[m.group(1).lower()] = m.group(2).strip().strip("\"'")
        return {}, text, 1  # no closing fence: not front matter after all
    i = 0
    while i < len(lines) and (m := _KEY_LINE.match(lines[i].strip())) and m.group(1).lower() in FRONT_KEYS:
        meta[m.group(1).lower()] = m.group(2).strip()
        i += 1
    return meta, "\n".join(lines[i:]), i + 1


def document_id(feed: str, rel: str, prefix: str = "doc-") -> str:
    """doc-<readable part of the path>-<hash>: stable, readable, and unique per feed and path."""
    slug = re.sub(r"[^a-z0-9]+", "-", rel.rsplit(".", 1)[0].lower()).strip("-")[:48].strip("-")
    digest = hashlib.sha1(f"{feed}/{rel}".encode()).hexdigest()[:8]
    return f"{prefix}{slug}-{digest}" if slug else f"{prefix}{digest}"


@dataclass
class TextSource:
    name: str
    path: Path
    patterns: tuple[str, ...] = ("*.txt", "*.md")
    id_prefix: str = "doc-"
    max_bytes: int = 2_000_000

    def read(self, schema: Schema) -> Batch:
        batch = Batch()
        folder = Path(self.path)
        if not folder.is_dir():
            batch.rejected.append(Rejection(self.name, str(folder), 0, "(folder)", "no such folder"))
            return batch
        files = sorted({p for pattern in self.patterns for p in folder.rglob(pattern) if p.is_file()})
        for path in files:
            self._read_file(folder, path, batch)
        batch.feeds.add(self.name)
        return batch

    def _read_file(self, folder: Path, path: Path, batch: Batch) -> None:
        rel = path.relative_to(folder).as_posix()

        def reject(row: int, field: str, reason: str, value: str = "") -> None:
            batch.rejected.append(Rejection(self.name, rel, row, field, reason, value))

        raw = path.read_bytes()
        if len(raw) > self.max_bytes:
            return reject(0, "(file)", f"larger than {self.max_bytes} bytes (max_bytes)")
        try:
            text = raw.decode("utf-8-sig").replace("\r\n", "\n")
        except UnicodeDecodeError as exc:
            return reject(0, "(file)", f"not UTF-8 text (byte {exc.start})")
        meta, body, first_line = split_front_matter(text)
        lines = [(i, line.strip().lstrip("#").strip()) for i, line in enumerate(body.split("\n"), first_line)]
        content = [(i, line) for i, line in lines if line]
        if not content:
            return reject(0, "text", "empty document")
        title = meta.get("title") or content[0][1]
        if path.suffix == ".md":  # heading marks are layout, not text (they would show in evidence)
            body = _MD_HEADING.sub("", body)
        props: dict[str, Any] = {"text": body.strip(), "url": meta.get("url") or None}
        props["language"] = meta.get("language") or meta.get("lang") or detect_language(body)
        date_text = meta.get("date") or meta.get("published")
        date_field = "date"
        if not date_text and re.match(r"\d{4}-\d{2}-\d{2}", path.name):
            date_text, date_field = path.name[:10], "date (file name)"
        if date_text:
            try:
                props["published"] = parse_date(date_text)
            except ValueError as exc:
                return reject(1, date_field, str(exc), date_text)
        props["name_zh" if props["language"].startswith("zh") else "name_en"] = title[:300]
        extra = {k: v for k, v in meta.items() if k not in FRONT_KEYS or k in ("source", "publisher")}
        doc_id = document_id(self.name, rel, self.id_prefix)
        batch.nodes.append(NodeRecord("Document", doc_id, props, self.name, self.name, f"{rel}:{content[0][0]}", extra))
        return None


register_kind("text", TextSource)
