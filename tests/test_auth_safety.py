"""The probe's login and download findings as tests: parallel guesses past the lock-out, username
enumeration by timing, redirect targets with CR/LF, secret files readable by others, and
download names that break the Content-Disposition header."""

from __future__ import annotations

import os
import re
import stat
import statistics
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from conftest import USERS, make_app
from werkzeug.http import parse_options_header

from kg.workspace import PRIVATE_FILES, Workspace
from web.downloads import attachment

PARALLEL_GUESSES = 40


def test_parallel_wrong_passwords_stop_at_the_lockout(live_server, settings) -> None:
    """40 wrong passwords at once against the real threaded server: only login_max_failures of
    them are checked (401), every other one is refused (429), and so is the right password."""
    username, password = USERS["staff"]
    browser = requests.Session()
    page = browser.get(f"{live_server}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    cookies = browser.cookies.get_dict()
    start = threading.Barrier(PARALLEL_GUESSES)
    statuses: list[int] = []

    def guess(i: int) -> None:
        start.wait()
        response = requests.post(f"{live_server}/login", cookies=cookies, allow_redirects=False, timeout=120,
                                 data={"username": username, "password": f"wrong-password-{i}", "csrf_token": token})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(PARALLEL_GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    counts = Counter(statuses)
    assert counts == {401: settings.login_max_failures, 429: PARALLEL_GUESSES - settings.login_max_failures}, counts
    right = requests.post(f"{live_server}/login", cookies=cookies, allow_redirects=False, timeout=60,
                          data={"username": username, "password": password, "csrf_token": token})
    assert right.status_code == 429
    checked = [a for a in Workspace.open(settings).audit_log(500) if a["action"] == "login.failed"]
    assert len(checked) == settings.login_max_failures


def test_a_right_password_does_not_count_as_a_failure(client, auth, settings) -> None:
    """The attempt recorded before the check is taken back when the password is right."""
    for _ in range(settings.login_max_failures + 2):
        assert auth.login("staff").status_code == 302
        auth.logout()
    assert auth.login("staff", password="wrong-password").status_code == 401


def test_login_takes_as_long_for_an_unknown_user(home) -> None:
    """Unknown users are checked against a dummy hash: no username enumeration by timing."""
    app = make_app(home, STAKEGRAPH_SETTINGS={"login_max_failures": 1000})
    client = app.test_client()

    def timed(username: str) -> float:
        begin = time.perf_counter()
        response = client.post("/login", data={"username": username, "password": "not-the-password-1"})
        assert response.status_code == 401
        return time.perf_counter() - begin

    timed("nobody-here"), timed(USERS["staff"][0])  # warm up (the dummy hash is made once)
    known, unknown = [], []
    for _ in range(10):
        known.append(timed(USERS["staff"][0]))
        unknown.append(timed("nobody-here"))
    app.extensions["stakegraph"].live.close()
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.5 < ratio < 2, (statistics.median(known), statistics.median(unknown))


@pytest.mark.parametrize("target", [
    "/\r\n//evil.example", "//evil.example/x", "/\\evil.example", "/\t/evil.example", "/\x00", "/a//b",
    "https://evil.example/", "evil.example", "/\u2028//evil.example", "",
])
def test_lang_switch_refuses_unsafe_next(client, target) -> None:
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302, target
    assert response.headers["Location"] == "/", target


@pytest.mark.parametrize("target", ["/projects", "/search?q=https://jcet.example", "/entities/org%3A1?x=1"])
def test_lang_switch_keeps_a_local_next(client, target) -> None:
    response = client.get("/lang/zh", query_string={"next": target})
    assert response.headers["Location"] == target


def test_login_refuses_unsafe_next(client) -> None:
    data = dict(zip(("username", "password"), USERS["staff"], strict=True))
    response = client.post("/login", data={**data, "next": "/\r\n//evil.example"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secret_files_are_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Created 0600 under a permissive umask, and tightened again at start-up when loosened."""
    from jobs.tasks import init_home
    from kg.settings import load_settings

    monkeypatch.setenv("STAKEGRAPH_EMBEDDER", "lexical")
    home = tmp_path / "home"
    old_umask = os.umask(0o022)
    try:
        init_home(load_settings({"home": str(home), "embedder": "lexical"}))
        present = [home / name for name in PRIVATE_FILES if (home / name).exists()]
        assert {p.name for p in present} >= {"workspace.db", "secret_key", "admin_password.txt"}
        assert {p.name: oct(_mode(p)) for p in present} == {p.name: "0o600" for p in present}
        for path in present:
            path.chmod(0o644)
        app = make_app(home)
        assert {p.name: oct(_mode(p)) for p in present} == {p.name: "0o600" for p in present}
        app.extensions["stakegraph"].live.close()
        for path in present:
            path.chmod(0o640)
        Workspace(home / "workspace.db").users()  # the CLI opens the workspace the same way
        assert {p.name: oct(_mode(p)) for p in present} == {p.name: "0o600" for p in present}
    finally:
        os.umask(old_umask)


@pytest.mark.parametrize("name", [
    'a"b.csv', "evil\r\nSet-Cookie: x=1.csv", "项目-短名单.xlsx", 'x\\"; filename="y.csv', "../../etc/passwd",
])
def test_content_disposition_is_escaped(name: str) -> None:
    value = attachment(name)
    assert "\r" not in value and "\n" not in value
    fallback = re.fullmatch(r'attachment; filename="([^"\\]*)"; filename\*=UTF-8\'\'(\S+)', value)
    assert fallback, value
    assert fallback.group(1).isascii() and fallback.group(1)
    # werkzeug reads filename* (RFC 2231/5987) in preference to filename, as browsers do.
    disposition, params = parse_options_header(value)
    expected = "".join(c for c in name if c not in "\r\n").replace("/", "_").replace("\\", "_")
    assert disposition == "attachment" and params["filename"] == expected


def test_chinese_name_survives() -> None:
    value = attachment("项目 1.csv")
    assert value == "attachment; filename=\"1.csv\"; filename*=UTF-8''" + quote("项目 1.csv", safe="")
    assert attachment("项目.csv").startswith('attachment; filename="download.csv"')


def test_every_download_uses_the_escaped_header(client, auth) -> None:
    auth.login("researcher")
    response = client.post("/console/run", data={"cypher": "RETURN 1 AS one", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == attachment("stakegraph-query.csv")
    roots = [Path(__file__).resolve().parents[1] / d for d in ("web", "kg", "stakegraph_cli")]
    hand_written = [f"{p}:{i}" for root in roots for p in root.rglob("*.py")
                    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                    if "Content-Disposition" in line and "attachment(" not in line and p.name != "downloads.py"]
    assert not hand_written, "write Content-Disposition with web.downloads.attachment"
