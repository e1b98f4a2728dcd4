"""The API under schemathesis: no request generated from /api/v1/openapi.json gets a 500.

What it covers: the real app (production error handling, TESTING off) on a real server on a free
port, authenticated with an admin's bearer token so every operation, reads and writes, is
reachable. Schemathesis (the CLI, in its own process) reads the document the app serves and runs
its coverage phase (boundary and invalid values of every parameter and body field, missing and
extra fields, wrong types, unknown query parameters) and its fuzzing phase (random valid and
invalid requests), at most MAX_EXAMPLES per operation, with the check `not_a_server_error`.
Path ids and the shortlist's org_id are taken from the loaded graph most of the time (a
schemathesis dictionary), so requests reach the code behind the 404 as well as the 404 itself.
A WSGI wrapper counts what the server answered, independently of schemathesis: zero 5xx, and
every response under /api/ is JSON.

/chain gets only invalid requests (negative mode): each valid request computes a whole chain
report, which takes seconds and would blow the time budget; the valid cases are tested in
tests/test_chain.py. The run takes about a minute on a quiet machine.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_app

MAX_EXAMPLES = 15
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
pytestmark = pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is in the test extras")


class Statuses:
    """Every (method, path, status, content type) the app answered, recorded in the server's threads."""

    def __init__(self, wsgi_app: Any):
        self.wsgi_app = wsgi_app
        self.seen: list[tuple[str, str, int, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        def record(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            kind = next((v for k, v in headers if k.lower() == "content-type"), "")
            with self.lock:
                self.seen.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), int(status.split()[0]), kind))
            return start_response(status, headers, *rest)

        return self.wsgi_app(environ, record)


@pytest.fixture(scope="module")
def api_server(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from werkzeug.serving import make_server

    home = tmp_path_factory.mktemp("fuzz") / "home"
    shutil.copytree(template_home, home, ignore=shutil.ignore_patterns("*.lock"))
    app = make_app(home, TESTING=False, STAKEGRAPH_SETTINGS={"query_timeout_ms": 3000})
    statuses = Statuses(app.wsgi_app)
    app.wsgi_app = statuses
    state = app.extensions["stakegraph"]
    view = state.live.get()
    projects = [n.id for batch in view.iter_nodes("Project") for n in batch][:3]
    orgs = [n.id for batch in view.iter_nodes("Organization") for n in batch][:3]
    token = state.workspace.create_token("admin", "fuzz")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="fuzz-server", daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}", "token": token, "projects": projects,
               "entities": projects + orgs, "orgs": orgs, "statuses": statuses}
    finally:
        server.shutdown()
        thread.join(10)
        state.applier.wait(120)
        state.live.close()


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _schemathesis(server: dict[str, Any], folder: Path, *args: str) -> subprocess.CompletedProcess:
    config = folder / "schemathesis.toml"
    config.write_text(
        f"[dictionaries.projects]\nvalues = {_toml_list(server['projects'])}\n"
        f"[dictionaries.entities]\nvalues = {_toml_list(server['entities'])}\n"
        f"[dictionaries.orgs]\nvalues = {_toml_list(server['orgs'])}\n"
        "[parameters]\n"
        '"path.project_id" = { dictionary = "projects", probability = 0.7 }\n'
        '"path.id" = { dictionary = "entities", probability = 0.7 }\n'
        '"body.org_id" = { dictionary = "orgs", probability = 0.7 }\n',
        encoding="utf-8",
    )
    command = [
        str(SCHEMATHESIS), "--config-file", str(config), "run", f"{server['url']}/api/v1/openapi.json",
        "-H", f"Authorization: Bearer {server['token']}", "--checks", "not_a_server_error",
        "--max-examples", str(MAX_EXAMPLES), "--workers", "2", "--request-timeout", "120",
        "--generation-database", "none", "--no-color", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=900)


def test_no_request_from_the_openapi_document_gets_a_server_error(api_server, tmp_path) -> None:
    runs = [
        _schemathesis(api_server, tmp_path, "--phases", "coverage,fuzzing", "--exclude-path", "/chain"),
        _schemathesis(api_server, tmp_path, "--phases", "fuzzing", "--mode", "negative", "--include-path", "/chain"),
    ]
    for run in runs:
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    seen = api_server["statuses"].seen
    api = [s for s in seen if s[1].startswith("/api/")]
    assert len(api) > 10 * MAX_EXAMPLES, f"only {len(api)} API requests were made"
    assert [s for s in seen if s[2] >= 500] == []
    # OPTIONS is Flask's automatic empty answer listing the methods; everything else has a body.
    assert [s for s in api if s[0] != "OPTIONS" and not s[3].startswith("application/json")] == [], \
        "every API answer is JSON"
    operations = {p.split("/")[3] for _, p, status, _ in api if status < 400 and p.count("/") >= 3}
    assert {"entities", "projects", "search", "status"} <= operations, "requests reached past the 404 and the 400"
