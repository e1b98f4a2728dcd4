"""The office's own data beside the graph: users, API tokens, audit log, shortlists, project
stage history, staff edits waiting to be applied, and resolution decisions.

It lives in SQLite ($STAKEGRAPH_HOME/workspace.db) rather than in the graph because it is
written by many web requests while the graph has a single writer; a staff edit is recorded here
at once (so it is never lost) and then applied to the graph by the writer, which refreshes also
do before they publish. WAL mode lets the web app, the CLI and the refresh job use it together.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from kg.settings import Settings

ROLES = ("admin", "staff", "researcher")
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL,
  created REAL NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tokens (
  id INTEGER PRIMARY KEY, username TEXT NOT NULL, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
  created REAL NOT NULL, revoked REAL);
CREATE TABLE IF NOT EXISTS login_failures (username TEXT, addr TEXT, ts REAL);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY, ts REAL NOT NULL, username TEXT, action TEXT NOT NULL, target TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS edits (
  id INTEGER PRIMARY KEY, ts REAL NOT NULL, username TEXT NOT NULL, label TEXT NOT NULL, node_id TEXT NOT NULL,
  props TEXT NOT NULL, applied_run TEXT);
CREATE TABLE IF NOT EXISTS decisions (
  id INTEGER PRIMARY KEY, record_a TEXT NOT NULL, record_b TEXT NOT NULL, judgement TEXT NOT NULL,
  username TEXT, note TEXT, ts REAL NOT NULL, active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS shortlist (
  project_id TEXT NOT NULL, org_id TEXT NOT NULL, status TEXT NOT NULL, note TEXT, username TEXT, ts REAL NOT NULL,
  PRIMARY KEY (project_id, org_id));
CREATE TABLE IF NOT EXISTS stage_history (
  project_id TEXT NOT NULL, old_stage TEXT, new_stage TEXT NOT NULL, username TEXT, ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS query_history (
  username TEXT NOT NULL, ts REAL NOT NULL, cypher TEXT NOT NULL, ok INTEGER NOT NULL, rows INTEGER, message TEXT);
CREATE TABLE IF NOT EXISTS rec_snapshots (
  project_id TEXT NOT NULL, run_id TEXT NOT NULL, ts REAL NOT NULL, ranking TEXT NOT NULL,
  PRIMARY KEY (project_id, run_id));
"""


class Workspace:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.executescript(SCHEMA)

    @classmethod
    def open(cls, settings: Settings) -> Workspace:
        return cls(settings.home_path / "workspace.db")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def execute(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self._db().execute(sql, params).fetchall()

    def transaction(self):
        """`with ws.transaction() as db:` — all statements commit together or not at all."""
        return _Tx(self._db())

    # users ---------------------------------------------------------------
    def add_user(self, username: str, password: str, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not username or len(username) > 64:
            raise ValueError("username must be 1 to 64 characters")
        if len(password) < 10:
            raise ValueError("password must be at least 10 characters")
        self.execute(
            "INSERT INTO users(username, password_hash, role, created) VALUES (?,?,?,?) "
            "ON CONFLICT(username) DO UPDATE SET password_hash=excluded.password_hash, role=excluded.role",
            (username, generate_password_hash(password), role, time.time()),
        )

    def check_password(self, username: str, password: str) -> dict[str, Any] | None:
        rows = self.execute("SELECT * FROM users WHERE username=? AND disabled=0", (username,))
        if rows and check_password_hash(rows[0]["password_hash"], password):
            return dict(rows[0])
        return None

    def user(self, username: str) -> dict[str, Any] | None:
        rows = self.execute("SELECT username, role, created, disabled FROM users WHERE username=?", (username,))
        return dict(rows[0]) if rows else None

    def users(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.execute("SELECT username, role, created, disabled FROM users ORDER BY username")]

    def recent_failures(self, username: str, addr: str, window_s: float = 900) -> int:
        rows = self.execute("SELECT count(*) AS n FROM login_failures WHERE username=? AND addr=? AND ts>?",
                            (username, addr, time.time() - window_s))
        return rows[0]["n"]

    def record_failure(self, username: str, addr: str) -> None:
        self.execute("INSERT INTO login_failures VALUES (?,?,?)", (username, addr, time.time()))

    # tokens --------------------------------------------------------------
    def create_token(self, username: str, name: str) -> str:
        if self.user(username) is None:
            raise ValueError(f"no user {username!r}")
        token = "sg_" + secrets.token_urlsafe(32)
        self.execute("INSERT INTO tokens(username, name, token_hash, created) VALUES (?,?,?,?)",
                     (username, name, _digest(token), time.time()))
        return token

    def revoke_token(self, token_or_id: str) -> bool:
        cur = self._db().execute("UPDATE tokens SET revoked=? WHERE (token_hash=? OR CAST(id AS TEXT)=?) AND revoked IS NULL",
                                 (time.time(), _digest(token_or_id), token_or_id))
        return cur.rowcount > 0

    def token_user(self, token: str) -> dict[str, Any] | None:
        rows = self.execute(
            "SELECT u.username, u.role FROM tokens t JOIN users u ON u.username=t.username "
            "WHERE t.token_hash=? AND t.revoked IS NULL AND u.disabled=0", (_digest(token),))
        return dict(rows[0]) if rows else None

    def tokens(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.execute("SELECT id, username, name, created, revoked FROM tokens ORDER BY id")]

    # audit ---------------------------------------------------------------
    def audit(self, username: str | None, action: str, target: str = "", detail: Any = None) -> None:
        self.execute("INSERT INTO audit(ts, username, action, target, detail) VALUES (?,?,?,?,?)",
                     (time.time(), username, action, target, json.dumps(detail, ensure_ascii=False, default=str)))

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        return [dict(r) for r in self.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))]


class _Tx:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
