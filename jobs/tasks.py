"""The jobs the CLI, the web app and notebooks share: init, load, refresh."""

from __future__ import annotations

import secrets
from pathlib import Path

from ingest.csv_rows import CsvLimits
from ingest.sources import load_manifest, taxonomy_source
from ingest.sources.bundle_source import BundleSource
from jobs.refresh import run_refresh
from kg.backends import current_version, open_writer
from kg.changelog import ChangeLog
from kg.settings import Settings
from kg.workspace import ADMIN_PASSWORD_FILE, SECRET_KEY_FILE, Workspace, write_private


def init_home(settings: Settings) -> dict[str, str]:
    """Create the home folder, an empty graph with the taxonomy, and the first admin user.

    Idempotent: a second call changes nothing and keeps the admin password.
    """
    home = settings.home_path
    home.mkdir(parents=True, exist_ok=True)
    (home / "logs").mkdir(exist_ok=True)
    ws = Workspace.open(settings)
    out = {"home": str(home)}
    pw_file = home / ADMIN_PASSWORD_FILE
    if ws.user("admin") is None:
        password = secrets.token_urlsafe(12)
        ws.add_user("admin", password, "admin")
        write_private(pw_file, password + "\n")
    out["admin_password_file"] = str(pw_file)
    secret = home / SECRET_KEY_FILE
    if not secret.exists():
        write_private(secret, secrets.token_hex(32))
    if current_version(settings) is None:
        with open_writer(settings, purpose="init"):
            pass  # creates the tables from the schema
        run_refresh(settings, [taxonomy_source()])
    return out


def load_bundle(settings: Settings, folder: str | Path, *, strict: bool = False, name: str | None = None) -> ChangeLog:
    """A one-bundle refresh: same code path, ids and provenance as `refresh`."""
    folder = Path(folder).resolve()
    limits = CsvLimits.from_settings(settings)
    return run_refresh(settings, [taxonomy_source(limits), BundleSource(name or folder.name, folder, limits=limits)],
                       strict=strict)


def refresh_manifest(settings: Settings, manifest: str | Path | None = None, *, strict: bool = False) -> ChangeLog:
    """The weekly refresh: every source the manifest declares (default data/sources.yaml); nothing
    is read or written when no input changed since the published graph was built (jobs.unchanged)."""
    return run_refresh(settings, load_manifest(manifest, settings), strict=strict, skip_unchanged=True)


def apply_staff_edits(settings: Settings, wait_s: float = 600) -> ChangeLog:
    """Publish the staff edits recorded in the workspace (the web app calls this after an edit).

    Waits for a running refresh to finish; that refresh may already have applied them.
    """
    return run_refresh(settings, [], wait_s=wait_s)
