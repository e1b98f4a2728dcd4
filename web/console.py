"""The Cypher console page and POST /api/v1/cypher, for researchers and admins.

Thin: it parses the request, calls kg.console.run_console_query (the one function with every
limit; the query runs in a confined worker process, never in the web server) on the published
graph, shapes the result with kg.results, and records the query in the user's history. Staff
do not get the console: their pages cover their work, and an open query box for every user
would make the row and time limits the only thing between one curious query and everyone's
response times.

A slow query does not block other users: Flask serves each request in its own thread, the
console runs at most a few queries at once (one worker process each), and each is stopped at
the time limit; a query that crashes the engine ends its worker, not this process.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, render_template, request, url_for

from kg.console import EXAMPLES, ConsoleStopped, history, parse_param, record_history, run_console_query
from kg.kept import Kept
from kg.results import result_csv, result_json
from kg.store import QueryRefused, QueryResult, StoreError
from web.api import api_auth, json_error
from web.auth import PUBLIC_ENDPOINTS, current_user, roles_required
from web.downloads import attachment
from web.extensions import csrf
from web.i18n import lang
from web.state import settings, workspace
from web.validation import MAX_CYPHER_CHARS

bp = Blueprint("console", __name__)
CONSOLE_ROLES = ("researcher", "admin")
GRAPHS_KEPT = 200  # recent result graphs the page's drawing can fetch back

MESSAGES = {
    "title": ("Cypher 查询台", "Cypher console"),
    "intro": ("只读查询：每次一条语句，超时 {timeout} 秒，最多 {rows} 行。写操作、文件读取与多条语句会被拒绝。",
              "Read-only: one statement at a time, stopped after {timeout} s, at most {rows} rows. "
              "Writes, file access and several statements are refused."),
    "query": ("查询", "Query"),
    "params": ("参数（每行一个 名称=值，值可为 JSON）", "Parameters (one name=value a line; values may be JSON)"),
    "run": ("运行", "Run"),
    "csv": ("下载 CSV", "Download CSV"),
    "examples": ("示例查询", "Example queries"),
    "history": ("我的查询记录", "My query history"),
    "no_history": ("还没有查询记录。", "No queries yet."),
    "result": ("结果", "Result"),
    "graph": ("图", "Graph"),
    "graph_empty": ("结果中没有可绘制的节点或路径。", "No nodes or paths in the result to draw."),
    "running": ("运行中…", "Running…"),
    "rows": ("{n} 行，用时 {ms} 毫秒", "{n} row(s) in {ms} ms"),
    "truncated": ("已截断：只显示前 {n} 行。", "Cut: only the first {n} rows are shown."),
    "page": ("第 {from}–{to} 行，共 {n} 行", "rows {from}–{to} of {n}"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "ok": ("成功", "ok"),
    "failed": ("失败", "failed"),
}


# Why the console stopped or lost a query (kg.console_stops.ConsoleStopped.reason), in Chinese;
# the English is the exception's own text.
STOPPED_ZH = {
    "time": "查询在 {seconds:g} 秒的时间上限处被停止；请加 LIMIT 或缩小 MATCH 的范围。",
    "memory": "查询因内存上限（{limit}）被停止；请返回更少或更小的值。",
    "crash": "这条查询使查询引擎崩溃（{how}）；下一条查询将由新的工作进程执行。",
    "killed": "查询的工作进程被系统终止（{how}），可能是内存不足。",
    "exited": "查询的工作进程意外退出（{how}）；下一条查询将由新的工作进程执行。",
    "too_large": "结果超过查询台的上限（{limit}）；请返回更少的行或列。",
    "busy": "查询台正忙（同时最多运行 {workers} 条查询）；请等一条查询完成后再试。",
    "start": "查询台无法启动查询工作进程：{detail}",
}


# The saved examples' titles in Chinese (kg.console.EXAMPLES holds the English).
EXAMPLE_TITLES_ZH = {
    "Partners within two hops of a company located in Wuxi": "无锡企业两跳以内的合作方",
    "Institutes and universities linked to packaging and test firms": "与封装测试企业有关联的科研院所和高校",
    "Chain sectors with no local firm in Wuxi": "无锡本地尚无企业的产业链环节",
    "Neighbourhood of one organisation (drawn as a graph)": "某一机构的关系网络（以图显示）",
}


def _example_title(title: str) -> str:
    return EXAMPLE_TITLES_ZH.get(title, title) if lang() == "zh" else title


def _error_text(exc: StoreError) -> str:
    if isinstance(exc, ConsoleStopped) and lang() == "zh":
        return STOPPED_ZH[exc.reason].format(**exc.values)
    return str(exc)


def _m() -> dict[str, str]:
    i = 0 if lang() == "zh" else 1
    return {k: v[i] for k, v in MESSAGES.items()}


class _Graphs:
    """Recent result graphs by a random key, so the page's graph drawing can fetch one by URL."""

    def __init__(self, keep: int):
        self._items: Kept[str, tuple[str, dict[str, Any]]] = Kept(keep)

    def put(self, username: str, graph: dict[str, Any]) -> str:
        key = secrets.token_urlsafe(12)
        self._items.put(key, (username, graph))
        return key

    def get(self, username: str, key: str) -> dict[str, Any] | None:
        item = self._items.get(key)
        return item[1] if item and item[0] == username else None


_graphs = _Graphs(GRAPHS_KEPT)
# The API route authenticates itself (bearer token, web.api.api_auth) like the rest of /api/v1,
# so the login page redirect must not catch it.
PUBLIC_ENDPOINTS.add("console.api_cypher")


def _params(raw: Any) -> dict[str, Any]:
    """{"k": v} as is; "k=v" lines (one string, or a list of strings) through the CLI's own parser.

    Anything else (`5`, `true`, `[1, 2]`) is a ValueError, which _run answers with 400: a JSON
    body is the client's to get wrong, never a reason for a 500.
    """
    if raw in (None, "", []):
        return {}
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        lines = raw.splitlines()
    elif isinstance(raw, list) and all(isinstance(line, str) for line in raw):
        lines = raw
    else:
        raise ValueError('params: give an object {"name": value} or a list of "name=value" lines')
    return dict(parse_param(line) for line in lines if line.strip())


def _run(username: str, cypher: str, raw_params: Any) -> tuple[QueryResult | None, dict[str, Any], int]:
    """Run and record the history row; (result, JSON payload, status) for the page and the API alike."""
    if not isinstance(cypher, str) or not cypher.strip():
        return None, {"error": "the query is empty"}, 400
    if len(cypher) > MAX_CYPHER_CHARS:
        return None, {"error": f"the query is longer than {MAX_CYPHER_CHARS} characters"}, 400
    s = settings()
    try:
        params = _params(raw_params)
        result = run_console_query(s, cypher, params, max_rows=s.query_max_rows, timeout_ms=s.query_timeout_ms)
    except (ValueError, QueryRefused) as exc:
        record_history(workspace(), username, cypher, False, None, str(exc))
        return None, {"error": str(exc), "refused": True}, 400
    except StoreError as exc:
        record_history(workspace(), username, cypher, False, None, str(exc))
        return None, {"error": _error_text(exc)}, 422
    record_history(workspace(), username, cypher, True, len(result.rows), "truncated" if result.truncated else "")
    return result, {**result_json(result), "max_rows": s.query_max_rows}, 200


@bp.get("/console")
@roles_required(*CONSOLE_ROLES, reason="error.console_roles")
def page() -> Any:
    s = settings()
    return render_template(
        "console.html", m=_m(), examples=[(ex, _params_text(ex.params), _example_title(ex.title)) for ex in EXAMPLES], history=history(workspace(), current_user()["username"], 30),
        timeout_s=s.query_timeout_ms / 1000, max_rows=s.query_max_rows,
    )


@bp.post("/console/run")
@roles_required(*CONSOLE_ROLES, reason="error.console_roles")
def run() -> Any:
    """The page's own endpoint (CSRF-protected like every form); format=csv answers a download."""
    body = request.get_json(silent=True) or request.form
    username = current_user()["username"]
    result, payload, status = _run(username, body.get("cypher", ""), body.get("params"))
    if body.get("format") == "csv":
        if result is None:
            return Response(payload["error"] + "\n", status=status, mimetype="text/plain")
        return Response(result_csv(result), mimetype="text/csv",
                        headers={"Content-Disposition": attachment("stakegraph-query.csv")})
    if result is not None:
        payload["graph_url"] = url_for("console.graph", key=_graphs.put(username, _for_drawing(payload["graph"])))
    return jsonify(payload), status


@bp.get("/console/graph/<key>")
@roles_required(*CONSOLE_ROLES, reason="error.console_roles")
def graph(key: str) -> Any:
    data = _graphs.get(current_user()["username"], key)
    if data is None:
        abort(404)
    return jsonify(data)


@bp.get("/console/history")
@roles_required(*CONSOLE_ROLES, reason="error.console_roles")
def history_json() -> Any:
    return jsonify(history(workspace(), current_user()["username"], 100))


@bp.post("/api/v1/cypher")
@csrf.exempt
@api_auth
def api_cypher() -> Any:
    """{"cypher": "...", "params": {...}} with a bearer token of a researcher or admin."""
    user = g.api_user
    if user["role"] not in CONSOLE_ROLES:
        return json_error(403, "the Cypher console is for researchers and admins")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return json_error(400, 'send a JSON object: {"cypher": "MATCH …", "params": {}}')
    _result, payload, status = _run(user["username"], body.get("cypher", ""), body.get("params"))
    return jsonify(payload), status


def _params_text(params: dict[str, Any]) -> str:
    """Parameters as the form's `name=value` lines (values as JSON, which parse_param reads back)."""
    return "\n".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in params.items())


def _for_drawing(graph: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """kg.results' graph in the shape web/static/js/graph.js draws (node ids are entity ids)."""
    ids = {n["key"]: n["id"] for n in graph["nodes"] if n.get("id")}
    nodes = [{"id": n["id"], "name": n["name"], "label": n["label"]} for n in graph["nodes"] if n.get("id")]
    links = [{"source": ids[e["source"]], "target": ids[e["target"]], "type": e["type"]}
             for e in graph["edges"] if e["source"] in ids and e["target"] in ids]
    return {"nodes": nodes, "links": links}
