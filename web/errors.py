"""How the app answers a failed request: JSON under /api/ (and to a page's script that asks for
JSON), a page elsewhere; and the body limits.

A script talking to /api/v1 must be able to read every answer as JSON, whatever went wrong
(unknown route, wrong method, a body too big, a bug of ours), so each HTTP error and the
catch-all 500 are answered here, by where the request went, never by Flask's HTML defaults.
A 500 says only that something failed: the traceback goes to the log (Flask logs it before
the handler runs), never to the client.

Two limits guard the JSON parser: the body size (Flask's MAX_CONTENT_LENGTH, set by create_app
from the max_body_bytes setting) and the nesting depth (max_json_depth). Python's json module recurses
once per level, so 5,000 nested brackets, a few kilobytes, would end in a RecursionError;
`json_too_deep` scans the brackets first, without recursing, and the request is refused
with 413 before anything parses it.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from web.messages import MESSAGES

__all__ = ["JSONTooDeep", "init_app", "json_error", "json_too_deep"]

# The page and API message of each HTTP status; another status reads as "the request failed".
ERROR_KEYS = {400: "error.bad_request", 403: "error.forbidden", 404: "error.not_found", 405: "error.method",
              413: "error.too_large", 500: "error.server"}
# A JSON string (escapes included) or one bracket: brackets inside strings do not nest anything.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


class JSONTooDeep(RequestEntityTooLarge):
    """A JSON body nested deeper than max_json_depth."""

    def __init__(self, limit: int):
        super().__init__(f"the JSON body is nested deeper than {limit} levels")
        self.limit = limit


def json_error(code: int, message: str) -> Any:
    """{"error": message} with the status; a message key of web/messages.py is given in English."""
    if message in MESSAGES:
        message = MESSAGES[message][1]
    return jsonify({"error": message}), code


def json_too_deep(data: bytes, limit: int) -> bool:
    """Whether brackets in this JSON text nest deeper than limit (strings are skipped).

    Counting is enough: invalid JSON that passes is refused by the parser as usual.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False  # the common case, in C: too few brackets to nest that deep
    depth = 0
    for match in _JSON_TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _is_api() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def _wants_json() -> bool:
    """A page's own script (the console's fetch says Accept: application/json) reads JSON too."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _answer(code: int, key: str, detail: tuple[str, dict[str, Any]] | str = "") -> Any:
    """The error as JSON in English for the API, as JSON in the user's language for a page's own
    script, or as the error page in the user's language.

    detail is a message key with its parameters, or a text already in the right language.
    """
    from web.i18n import t

    if _is_api():
        if isinstance(detail, tuple):
            text = MESSAGES[detail[0]][1].format(**detail[1])
        else:
            text = detail or MESSAGES[key][1]
        return json_error(code, text)
    shown = t(detail[0], **detail[1]) if isinstance(detail, tuple) else detail
    if _wants_json():
        return jsonify({"error": shown or t(key)}), code
    return render_template("error.html", code=code, message_key=key, detail=shown), code


def _http_error(exc: HTTPException) -> Any:
    response = make_response(_http_answer(exc))
    for name, value in exc.get_headers():  # e.g. the Allow header a 405 must carry (RFC 9110)
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _http_answer(exc: HTTPException) -> Any:
    code = exc.code or 500
    key = ERROR_KEYS.get(code, "error.http")
    if isinstance(exc, JSONTooDeep):
        return _answer(code, key, ("error.too_deep", {"max": exc.limit}))
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.max_content_length or 0
        return _answer(code, key, ("error.body_limit", {"max": f"{limit:,}"}))
    if code >= 500:
        return _answer(code, key)  # nothing of what failed inside goes to the client
    # abort(400, "…") says what was wrong; werkzeug's own English description adds nothing.
    custom = exc.description if exc.description != type(exc).description else ""
    if not custom and key == "error.http":
        custom = exc.name
    return _answer(code, key, custom or "")


def _check_body() -> None:
    """Refuse a JSON body nested too deep before any view parses it."""
    if not request.is_json:
        return
    from web.state import settings

    limit = settings().max_json_depth
    if json_too_deep(request.get_data(cache=True), limit):
        raise JSONTooDeep(limit)


def init_app(app: Flask) -> None:
    """Check JSON bodies and answer every HTTP error and every unhandled exception.

    An unhandled exception reaches _http_error as an InternalServerError, after Flask has
    logged its traceback.
    """
    app.before_request(_check_body)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, lambda e: _answer(400, "error.csrf", e.description))
