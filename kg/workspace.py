"""The office's own data beside the graph: users, API tokens, audit log, shortlists, project
stage history, staff edits waiting to be applied, and resolution decisions.

It lives in SQLite ($STAKEGRAPH_HOME/workspace.db) rather than in the graph because it is
written by many web requests while the graph has a single writer; a staff edit is recorded here
at once (so it is never lost) and then applied to the graph by the writer, which refreshes also
do before they publish. WAL mode lets the web app, the CLI and the refresh job use it together.

The database holds password hashes, so it and the home's other secrets (PRIVATE_FILES) are
owner-only: created 0600 and tightened again whenever a workspace is opened, which every
start-up of the web app and the CLI does, so a file restored or copied with a looser mode does
not stay readable to other local users.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
import sqlite3
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from kg.settings import Settings

ROLES = ("admin", "staff", "researcher")
DB_NAME = "workspace.db"
ADMIN_PASSWORD_FILE = "admin_password.txt"
SECRET_KEY_FILE = "secret_key"
# Files of the home that hold secrets or hashes; SQLite gives -wal and -shm the database's mode
# when it creates them, but ones left by an older, looser database are tightened too.
PRIVATE_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", SECRET_KEY_FILE, ADMIN_PASSWORD_FILE)
PRIVATE_MODE = 0o600
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL,
  created REAL NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, session_gen INTEGER NOT NULL DEFAULT 0);
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


# Columns added after a release: (table, column, definition). A workspace written by an older
# version gets them when it is next opened.
MIGRATIONS = (("users", "session_gen", "INTEGER NOT NULL DEFAULT 0"),)


@dataclass(frozen=True)
class LoginAttempt:
    """What one login attempt came to: "ok" (with the user), "failed" or "locked"."""

    outcome: str
    user: dict[str, Any] | None = None


class Workspace:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created owner-only before SQLite opens it (an empty file is an empty database), so
        # the hashes are never readable by others, not even for a moment.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_MODE))
        protect_private_files(path.parent)
        self._local = threading.local()
        with self._db() as db:
            db.executescript(SCHEMA)
        self._migrate()

    @classmethod
    def open(cls, settings: Settings) -> Workspace:
        return cls(settings.home_path / DB_NAME)

    def _migrate(self) -> None:
        """Add the columns an older workspace lacks; under the write lock, so two processes
        opening the same old workspace at once do not both try to add a column."""
        with self.transaction() as db:
            for table, column, definition in MIGRATIONS:
                if column not in {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

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
        # A new password ends every session of the user (session_gen), so a reset locks out
        # whoever held the old password or a stolen cookie.
        self.execute(
            "INSERT INTO users(username, password_hash, role, created) VALUES (?,?,?,?) "
            "ON CONFLICT(username) DO UPDATE SET password_hash=excluded.password_hash, role=excluded.role, "
            "session_gen=users.session_gen+1",
            (username, generate_password_hash(password), role, time.time()),
        )

    def check_password(self, username: str, password: str) -> dict[str, Any] | None:
        """The user (without the hash) when the password is right.

        An unknown or disabled user is checked against a dummy hash of the same method and cost,
        so the answer takes as long as for a real user and the timing does not tell which
        usernames exist.
        """
        rows = self.execute("SELECT * FROM users WHERE username=? AND disabled=0", (username,))
        stored = rows[0]["password_hash"] if rows else _dummy_hash()
        if check_password_hash(stored, password) and rows:
            user = dict(rows[0])
            del user["password_hash"]
            return user
        return None

    def attempt_login(self, username: str, password: str, addr: str, max_failures: int,
                      window_s: float = 900) -> LoginAttempt:
        """Check a password under the lock-out of `max_failures` per user and address.

        The attempt is recorded as a failure before the password is checked, in one write
        transaction with the count, and taken back only if the password is right: parallel
        guesses each see the ones before them, so at most `max_failures` wrong passwords are
        checked in a window, however many arrive at once.
        """
        with self.transaction() as db:
            recent = db.execute("SELECT count(*) FROM login_failures WHERE username=? AND addr=? AND ts>?",
                                (username, addr, time.time() - window_s)).fetchone()[0]
            if recent >= max_failures:
                return LoginAttempt("locked")
            attempt = db.execute("INSERT INTO login_failures VALUES (?,?,?)", (username, addr, time.time())).lastrowid
        user = self.check_password(username, password)
        if user is None:
            return LoginAttempt("failed")
        self.execute("DELETE FROM login_failures WHERE rowid=?", (attempt,))
        return LoginAttempt("ok", user)

    def user(self, username: str) -> dict[str, Any] | None:
        rows = self.execute("SELECT username, role, created, disabled, session_gen FROM users WHERE username=?",
                            (username,))
        return dict(rows[0]) if rows else None

    def end_sessions(self, username: str) -> None:
        """Invalidate every session cookie of the user (logout, password change); API tokens stay."""
        self.execute("UPDATE users SET session_gen=session_gen+1 WHERE username=?", (username,))

    def users(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.execute("SELECT username, role, created, disabled FROM users ORDER BY username")]

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


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password made the way real ones are (werkzeug's default method)."""
    return generate_password_hash(secrets.token_urlsafe(16))


def protect_private_files(home: Path) -> None:
    """Make the home's secret files owner-only (0600) where they exist with a looser mode."""
    for name in PRIVATE_FILES:
        path = home / name
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) & ~PRIVATE_MODE:
            path.chmod(PRIVATE_MODE)


def write_private(path: Path, text: str) -> None:
    """Write a secret file that is owner-only from the moment it exists: a chmod after
    write_text would leave it readable for a moment. Written beside it and renamed over it,
    so a reader never sees half a key."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
