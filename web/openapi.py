"""The OpenAPI 3 description of /api/v1, written as data beside the routes it describes.

A test (tests/test_web_api.py) checks that every /api/v1 route of the app appears here and
nothing else does, so the document cannot drift from the code; tests/test_api_fuzz.py sends
schemathesis' requests generated from it to a running app and requires that none gets a 500.
Limits come from the constants and settings the routes check, so what the document allows is
what the API accepts.
"""

from __future__ import annotations

from typing import Any

from kg.schema import load_schema
from matching.search import LABELS
from web.validation import (
    DATE,
    MAX_CYPHER_CHARS,
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_NOTE_CHARS,
    MAX_QUERY_CHARS,
    MAX_RESULTS,
)

ERROR = {"$ref": "#/components/schemas/Error"}
# A one-line text field: web.validation.text refuses control characters and line breaks.
LINE = "^[^\\u0000-\\u001f\\u007f]*$"


def _resp(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    body["content"] = {"application/json": {"schema": schema or {"type": "object"}}}
    return body


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "bad input", 401: "no or invalid bearer token", 403: "the token's user may not do this",
            404: "unknown id", 413: "the body is larger than max_body_bytes or its JSON nested deeper than max_json_depth",
            422: "the engine refused or stopped the query (time or memory limit, engine error)",
            503: "the recommender or the vector index is not available"}
    return {str(c): _resp(text[c], ERROR) for c in codes}


def _param(name: str, where: str = "query", description: str = "", schema: dict | None = None, required: bool = False):
    return {"name": name, "in": where, "required": required or where == "path", "description": description,
            "schema": schema or {"type": "string"}}


def _line(max_chars: int = MAX_ID_CHARS) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_chars, "pattern": LINE}


ID = _param("id", "path", "node id")
PROJECT_ID = _param("project_id", "path", "project node id")
LANG = _param("lang", description="zh or en: the language of `name` fields", schema={"type": "string", "enum": ["zh", "en"]})


def openapi_document(neighbour_limit: int = 200) -> dict[str, Any]:
    """The document; neighbour_limit is the setting of that name (the largest neighbours `limit`)."""
    def get(summary: str, params: list[dict[str, Any]], ok: str, *errs: int) -> dict[str, Any]:
        return {"get": {"summary": summary, "parameters": params, "responses": {"200": _resp(ok), **_errors(401, *errs)}}}

    paths: dict[str, Any] = {
        "/search": get("Search names, aliases, pinyin, initials, codes and descriptions; one page with the total", [
            _param("q", description=f"query text (at most {MAX_QUERY_CHARS} characters); give q or at least one "
                                    "of label, kind, tier, sector, region (else 400)", schema=_line(MAX_QUERY_CHARS)),
            _param("mode", description="name (default) or semantic (words and vectors fused; filters apply to both)",
                   schema={"type": "string", "enum": ["name", "semantic"]}),
            _param("label", description="Organization, Project, Person, Sector, Region or Document",
                   schema={"type": "string", "enum": list(LABELS)}),
            _param("kind", description="organisation kind, e.g. listed_company (400 for a kind the graph lacks)",
                   schema=_line()),
            _param("tier", description="project tier: benchmark, key or ordinary", schema=_line()),
            _param("sector", description="sector id or name; includes sub-sectors; an unknown one is a 400", schema=_line()),
            _param("region", description="region id or name; includes sub-regions; an unknown one is a 400", schema=_line()),
            _param("limit", schema={"type": "integer", "minimum": 1, "maximum": MAX_RESULTS}),
            _param("offset", description="hits to skip (paging; `total` counts them all)",
                   schema={"type": "integer", "minimum": 0, "maximum": 10_000}),
            _param("facets", description="1: also count the matches per kind, region and sector"),
        ], "total, offset, limit, count and hits, best first", 400, 503),
        "/entities/{id}": get("An entity's profile: properties, provenance, relationships, documents",
                              [ID, LANG], "the profile", 404),
        "/entities/{id}/neighbours": get("The one-hop neighbourhood as nodes and links", [
            ID, LANG, _param("limit", description="most neighbours (the neighbour_limit setting caps it)",
                             schema={"type": "integer", "minimum": 1, "maximum": neighbour_limit})],
            "nodes and links", 400, 404),
        "/entities/{id}/relations": {"post": {
            "summary": "Add, end or retract a relation of the entity (staff and admins); recorded with who, when "
                       "and why, applied by the next write; a refused edit saves nothing",
            "parameters": [ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["type", "other_id"],
                "properties": {
                    "op": {"type": "string", "enum": ["add", "end", "retract"], "description": "default add"},
                    "type": {"type": "string", "enum": [t for t in load_schema().relationships
                                                        if t not in ("MENTIONS", "PART_OF", "UPSTREAM_OF")]},
                    "other_id": _line(),
                    "direction": {"type": "string", "enum": ["out", "in"],
                                  "description": "out: this entity is the relation's source (default)"},
                    "since": {"type": "string", "pattern": DATE.pattern, "description": "2019, 2019-06 or 2019-06-30"},
                    "until": {"type": "string", "pattern": DATE.pattern, "description": "not before since; needed to end"},
                    "role": _line(MAX_NAME_CHARS),
                    "evidence": _line(MAX_NOTE_CHARS),
                    "note": {"type": "string", "maxLength": MAX_NOTE_CHARS,
                             "description": "why; required to retract; no HTML markup"}}}}}},
            "responses": {"201": _resp("recorded"), **_errors(400, 401, 403, 404, 413)},
        }},
        "/projects": get("All projects with tier, stage and owner", [], "the projects"),
        "/projects/{project_id}": get("A project's profile and stage history", [PROJECT_ID, LANG], "the project", 404),
        "/projects/{project_id}/recommendations": get("Ranked partner candidates with signals and reasons", [
            PROJECT_ID, _param("k", schema={"type": "integer", "minimum": 1, "maximum": MAX_RESULTS}),
            {**_param("kind", description="organisation kind filter (repeatable)",
                      schema={"type": "array", "items": _line()}), "style": "form", "explode": True},
            _param("region", description="region id or name filter", schema=_line())],
            "recommendations, best first", 400, 404, 503),
        "/projects/{project_id}/shortlist": {
            **get("The project's shortlisted and dismissed organisations", [PROJECT_ID], "the shortlist", 404),
            "post": {
                "summary": "Shortlist or dismiss an organisation for the project (dismissing needs a note)",
                "parameters": [PROJECT_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["org_id"],
                    "properties": {"org_id": _line(),
                                   "status": {"type": "string", "enum": ["shortlisted", "dismissed"]},
                                   "note": {"type": "string", "maxLength": MAX_NOTE_CHARS,
                                            "description": "required to dismiss; line breaks allowed"}}}}}},
                "responses": {"201": _resp("saved"), **_errors(400, 401, 403, 404, 413)},
            },
        },
        "/chain": get("Industry-chain coverage of a region: local firms, strength, gaps with candidates, dependencies", [
            _param("region", description="region id or name (default: the home_region setting), e.g. Wuxi, 无锡",
                   schema=_line()),
            _param("k", description="candidates per gap (default 5)",
                   schema={"type": "integer", "minimum": 0, "maximum": MAX_RESULTS})], "the chain report", 400, 404),
        "/cypher": {"post": {
            "summary": "Run one read-only Cypher statement (researchers and admins; time and row limits apply)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["cypher"],
                "properties": {
                    "cypher": {"type": "string", "minLength": 1, "maxLength": MAX_CYPHER_CHARS,
                               "description": "one read-only statement; refused (400) when it writes, reads "
                                              "files or calls what the console does not allow"},
                    "params": {"description": "$name parameters: an object, or name=value lines (one string "
                                              "or a list of strings; values as JSON when they parse)",
                               "oneOf": [{"type": "object"}, {"type": "string"},
                                         {"type": "array", "items": {"type": "string"}}]}}}}}},
            "responses": {"200": _resp("columns, rows and whether the rows were cut at the limit"),
                          **_errors(400, 401, 403, 413, 422)},
        }},
        "/status": get("The graph version being served and the last refresh runs", [], "status"),
        "/openapi.json": {"get": {"summary": "This document (no authentication)", "security": [],
                                  "responses": {"200": _resp("the OpenAPI document")}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "stakegraph API", "version": "1",
                 "description": "Read the stakeholder graph, projects and recommendations; manage shortlists. "
                                "Authenticate with a bearer token issued by an admin (web admin page or "
                                "`stakegraph token create USER`)."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}},
        },
    }
