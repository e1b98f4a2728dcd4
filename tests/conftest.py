"""Shared fixtures: a loaded STAKEGRAPH_HOME per test, the Flask app and clients, a login
helper per role, and a live server running the real app for the browser tests.

Loading the sample (and deriving its vectors) takes a while, so it happens once per session
into a template home; each test gets a fresh copy of that folder in its own tmp_path, so tests
can write edits, shortlists and users without seeing each other's.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
FIXTURE_BUNDLE = Path(__file__).parent / "fixtures" / "web_bundle"
USERS = {
    "admin": ("admin", "admin-password-123"),
    "staff": ("staff1", "staff-password-123"),
    "researcher": ("researcher1", "research-password-123"),
}


def bundle_dir() -> Path:
    """The real sample once it exists; until then a small bundle of real names."""
    return SAMPLE if (SAMPLE / "organizations.csv").is_file() else FIXTURE_BUNDLE


def home_settings(home: Path):
    from kg.settings import load_settings

    env = {k: v for k, v in os.environ.items() if k not in ("STAKEGRAPH_HOME", "STAKEGRAPH_CONFIG")}
    env["STAKEGRAPH_HOME"] = str(home)
    return load_settings({"home": str(home)}, env=env)


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jobs.tasks import init_home, load_bundle
    from kg.workspace import Workspace

    home = tmp_path_factory.mktemp("stakegraph-template")
    settings = home_settings(home)
    init_home(settings)
    load_bundle(settings, bundle_dir())
    ws = Workspace.open(settings)
    for role, (username, password) in USERS.items():
        ws.add_user(username, password, role)
    return home


@pytest.fixture
def home(template_home: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "home"
    shutil.copytree(template_home, dest, ignore=shutil.ignore_patterns("*.lock"))
    return dest


@pytest.fixture
def settings(home: Path):
    return home_settings(home)


def make_app(home: Path, **config):
    from web import create_app

    base = {"TESTING": True, "STAKEGRAPH_HOME": str(home), "WTF_CSRF_ENABLED": False, "STAFF_EDITS_APPLY": "off"}
    return create_app({**base, **config})


@pytest.fixture
def app(home: Path):
    app = make_app(home)
    yield app
    _close(app)


def _close(app) -> None:
    state = app.extensions["stakegraph"]
    state.applier.wait(120)
    state.live.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """auth.login("researcher") logs the test client in as that role's user."""

    def __init__(self, client):
        self._client = client

    def login(self, role: str = "staff", password: str | None = None):
        username, default = USERS[role]
        return self._client.post("/login", data={"username": username, "password": password or default})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def view(app):
    from web.state import AppState

    state: AppState = app.extensions["stakegraph"]
    return state.live.get()


@pytest.fixture
def live_server(home: Path) -> Iterator[str]:
    """The real app (CSRF on, edits applied in the background) on 127.0.0.1 and a free port."""
    from werkzeug.serving import make_server

    app = make_app(home, TESTING=False, WTF_CSRF_ENABLED=True, STAFF_EDITS_APPLY="background")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        _close(app)


@pytest.fixture
def lexical_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings of an initialised, empty STAKEGRAPH_HOME embedding with the fast lexical
    embedder: for refresh tests that load small bundles of their own."""
    from jobs.tasks import init_home
    from kg.settings import load_settings

    monkeypatch.setenv("STAKEGRAPH_EMBEDDER", "lexical")
    settings = load_settings({"home": str(tmp_path / "home"), "embedder": "lexical"})
    init_home(settings)
    return settings


# --- Neo4j: one real server per test session ----------------------------------------------
NEO4J_SCRIPT = ROOT / ".ci" / "neo4j" / "neo4j.sh"


class Neo4jServer:
    """Where the session's Neo4j server answers, and what a test needs of it.

    Community Edition has one user database, so tests take turns on it: each starts with
    clear() (every node and relationship deleted; constraints and indexes stay, as the writer
    re-creates them with IF NOT EXISTS anyway)."""

    def __init__(self, uri: str, user: str, password: str):
        self.uri, self.user, self.password = uri, user, password

    def env(self) -> dict[str, str]:
        """The variables a subprocess (the CLI) needs to reach this server."""
        return {"NEO4J_URI": self.uri, "NEO4J_USER": self.user, "NEO4J_PASSWORD": self.password}

    def overrides(self) -> dict[str, str]:
        """load_settings overrides that put a home on this server."""
        return {"backend": "neo4j", "neo4j_uri": self.uri, "neo4j_user": self.user, "neo4j_password": self.password}

    def clear(self) -> None:
        import neo4j

        with neo4j.GraphDatabase.driver(self.uri, auth=(self.user, self.password)) as d, d.session() as s:
            s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jServer]:
    """The server in NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD (.ci/run starts one); without
    NEO4J_URI, one started through .ci/neo4j/neo4j.sh for this session (the first test that
    needs it waits for the start-up) and stopped at its end. The server also stops itself when
    this process dies, so a killed run leaves none behind."""
    import subprocess

    if os.environ.get("NEO4J_URI"):
        yield Neo4jServer(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""))
        return
    state = tmp_path_factory.mktemp("neo4j-server")
    env = {**os.environ, "NEO4J_PARENT_PID": str(os.getpid())}
    env.pop("NEO4J_PASSWORD", None)  # generated by the script
    started = subprocess.run(["bash", str(NEO4J_SCRIPT), "start", str(state)], env=env, capture_output=True, text=True)
    if started.returncode != 0:
        subprocess.run(["bash", str(NEO4J_SCRIPT), "stop", str(state)], capture_output=True)
        pytest.fail(f"could not start a Neo4j server for the tests:\n{started.stderr[-3000:]}", pytrace=False)
    found = dict(line.split("=", 1) for line in subprocess.run(
        ["bash", "-c", f'source "{state}/env" && printf "%s\\n" "NEO4J_URI=$NEO4J_URI" "NEO4J_USER=$NEO4J_USER" '
                       '"NEO4J_PASSWORD=$NEO4J_PASSWORD"'], capture_output=True, text=True, check=True).stdout.splitlines())
    try:
        yield Neo4jServer(found["NEO4J_URI"], found["NEO4J_USER"], found["NEO4J_PASSWORD"])
    finally:
        from kg.backends.neo4j import close_drivers

        close_drivers()
        subprocess.run(["bash", str(NEO4J_SCRIPT), "stop", str(state)], capture_output=True)
