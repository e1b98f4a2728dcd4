"""An HTTP JSON API as a source: pages fetched with retries, records mapped like JSON files.

Paging is declared in the manifest, since APIs differ: `page` (a page number parameter),
`offset` (offset + limit) or `next` (the response, or its Link header, names the next URL).
A 5xx, 429, timeout or dropped connection is retried with exponential backoff (Retry-After is
honoured); a page that still fails is reported, and the feed then counts as not complete, so
nothing it did not deliver is marked unseen. `${VAR}` in headers and params is read from the
environment, so tokens stay out of the manifest.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from ingest.records import Batch, Rejection
from ingest.sources.json_source import records_at
from ingest.sources.mapping import Mapping, lookup
from ingest.sources.registry import ManifestError, register_kind
from kg.schema import Schema

log = logging.getLogger("stakegraph.sources.http")
STYLES = {"page", "offset", "next"}
RETRY_STATUS = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 60.0


class PageError(Exception):
    """A page could not be fetched or read, after the retries."""


@dataclass
class HttpSource:
    name: str
    url: str
    mapping: dict[str, Any]
    records: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    paging: dict[str, Any] | None = None
    retries: int = 4
    backoff: float = 1.0
    timeout: float = 30.0
    max_pages: int = 10_000
    _mapping: Mapping = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._mapping = Mapping.parse(self.mapping, f"source {self.name}: mapping")
        paging = self.paging or {}
        if self.paging is not None and paging.get("style") not in STYLES:
            raise ManifestError(f"source {self.name}: paging.style must be one of {', '.join(sorted(STYLES))}")
        if paging.get("style") == "offset" and not paging.get("size"):
            raise ManifestError(f"source {self.name}: offset paging needs paging.size")

    def fingerprint(self) -> str | None:
        """The resource's ETag or Last-Modified from a HEAD request, with the source's options:
        the refresh skips the read when they are what the last complete run saw
        (ingest.sources.fingerprint). None, so always read, for a paged API (one header does not
        vouch for the other pages), a server that sends neither header, or any error (the read
        then reports it)."""
        if self.paging is not None:
            return None
        params = {k: os.path.expandvars(str(v)) for k, v in self.params.items()}
        headers = {k: os.path.expandvars(str(v)) for k, v in self.headers.items()}
        try:
            resp = requests.head(self.url, params=params, headers=headers, timeout=self.timeout, allow_redirects=True)
        except requests.RequestException:
            return None
        validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        if resp.status_code >= 400 or not validator:
            return None
        options = repr((self.url, sorted(self.params.items()), self.mapping, self.records))
        return f"{validator}|{options}"

    def read(self, schema: Schema) -> Batch:
        batch = Batch()
        session = requests.Session()
        session.headers.update({k: os.path.expandvars(str(v)) for k, v in self.headers.items()})
        complete = False
        try:
            complete = self._read_pages(session, batch)
        except PageError as exc:
            file, _, reason = str(exc).partition("\n")
            batch.rejected.append(Rejection(self.name, file, 0, "(page)", reason))
        finally:
            session.close()
        if complete:
            batch.feeds.add(self.name)
        return batch

    def _read_pages(self, session: requests.Session, batch: Batch) -> bool:
        paging = self.paging or {}
        style = paging.get("style")
        size = paging.get("size")
        number = int(paging.get("start", 0 if style == "offset" else 1))
        url: str | None = self.url
        seen_urls: set[str] = set()
        fetched = 0
        for _ in range(self.max_pages):
            params = {k: os.path.expandvars(str(v)) for k, v in self.params.items()}
            if style in ("page", "offset"):
                params[paging.get("param", "page" if style == "page" else "offset")] = number
            if size and paging.get("size_param"):
                params[paging["size_param"]] = size
            if style == "offset" and "size_param" not in paging:
                params["limit"] = size
            document, resp = self._get(session, str(url), params if url == self.url or style != "next" else {})
            label = _label(resp.url)
            items = records_at(document, self.records)
            if items is None:
                raise PageError(f"{label}\nno list of records at {self.records or 'the top level'!r}")
            for i, item in enumerate(items, 1):
                if isinstance(item, dict):
                    self._mapping.apply(item, self.name, label, i, batch)
                else:
                    batch.rejected.append(Rejection(self.name, label, i, "(record)", "not an object", str(item)[:80]))
            fetched += len(items)
            total = lookup(document, paging["total"]) if paging.get("total") else None
            if not style or not items or (total is not None and fetched >= int(total)):
                return True
            if style == "next":
                nxt = resp.links.get("next", {}).get("url") if paging.get("next", "header") == "header" \
                    else lookup(document, paging["next"])
                if not nxt or nxt in seen_urls:
                    return True
                seen_urls.add(str(nxt))
                url = urljoin(resp.url, str(nxt))
                continue
            if size and len(items) < int(size):
                return True
            number += len(items) if style == "offset" else 1
        log.warning("%s: stopped after max_pages=%d", self.name, self.max_pages)
        return False  # cut short: not a complete listing

    def _get(self, session: requests.Session, url: str, params: dict[str, Any]) -> tuple[Any, requests.Response]:
        """One GET with retries; the JSON body and the response, or PageError."""
        label = _label(requests.Request("GET", url, params=params).prepare().url or url)
        reason = ""
        for attempt in range(self.retries + 1):
            wait = self.backoff * 2 ** attempt
            try:
                resp = session.get(url, params=params, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code < 400:
                    try:
                        return resp.json(), resp
                    except ValueError:
                        raise PageError(f"{label}\nthe response is not JSON") from None
                reason = f"HTTP {resp.status_code}"
                if resp.status_code not in RETRY_STATUS:
                    raise PageError(f"{label}\n{reason} (not retried)")
                retry_after = resp.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    wait = min(float(retry_after), MAX_RETRY_AFTER_S)
            if attempt < self.retries:
                log.info("%s: %s on %s; retry %d/%d in %.2fs", self.name, reason, label, attempt + 1, self.retries, wait)
                time.sleep(wait)
        raise PageError(f"{label}\n{reason} after {self.retries} retries")


def _label(url: str) -> str:
    """A page's name in messages: path and query. No scheme or host, since a `file:row` text
    is split at its first colon."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


register_kind("http", HttpSource)
