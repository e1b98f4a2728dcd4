"""`stakegraph serve` runs the app under gunicorn (not Flask's development server), keeps --host
and --port, takes its worker and thread counts from the settings, believes X-Forwarded-* from
the trusted proxy only, and the login form works through it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from kg.settings import load_settings
from web.server import TrustedProxy, server_options

ROOT = Path(__file__).resolve().parents[1]


def test_server_options_come_from_the_settings() -> None:
    s = load_settings({"web_threads": 3, "web_workers": 5, "trusted_proxy": "127.0.0.1"}, env={})
    opts = server_options(s, "127.0.0.1", 8080)
    assert opts["threads"] == 3 and opts["workers"] == 5 and opts["bind"] == ["127.0.0.1:8080"]
    assert opts["forwarded_allow_ips"] == "127.0.0.1"
    # gunicorn's own default believes X-Forwarded-Proto from 127.0.0.1: with no proxy set, nobody
    assert server_options(load_settings({}, env={}), "::1", 80)["forwarded_allow_ips"] == ""
    assert server_options(load_settings({}, env={}), "::1", 80)["bind"] == ["[::1]:80"]


def test_forwarded_headers_are_believed_from_the_trusted_proxy_only() -> None:
    seen: list[tuple[str, str]] = []

    def app(environ, start_response):
        seen.append((environ["REMOTE_ADDR"], environ["wsgi.url_scheme"]))
        return []

    def call(remote: str) -> tuple[str, str]:
        environ = {"REMOTE_ADDR": remote, "wsgi.url_scheme": "http", "HTTP_HOST": "x",
                   "HTTP_X_FORWARDED_FOR": "203.0.113.9", "HTTP_X_FORWARDED_PROTO": "https"}
        TrustedProxy(app, "127.0.0.1")(environ, lambda *a: None)
        assert "HTTP_X_FORWARDED_FOR" not in environ or remote == "127.0.0.1"
        return seen[-1]

    assert call("127.0.0.1") == ("203.0.113.9", "https")  # the proxy: the client's address, https
    assert call("198.51.100.7") == ("198.51.100.7", "http")  # anyone else: their own, headers dropped
    seen.clear()
    TrustedProxy(app, "")({"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
                           "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, lambda *a: None)
    assert seen == [("127.0.0.1", "http")]  # no proxy set: believed from nobody


def test_serve_runs_gunicorn_workers_and_logs_in(home: Path, tmp_path: Path) -> None:
    from conftest import USERS

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STAKEGRAPH_WEB_THREADS": "2", "STAKEGRAPH_WEB_WORKERS": "2"}
    env.pop("STAKEGRAPH_HOME", None)
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "stakegraph_cli.main", "--home", str(home), "serve",
                             "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                first = requests.get(f"{base}/login", timeout=10)
                break
            except requests.ConnectionError:
                assert time.time() < deadline, "serve did not answer"
                time.sleep(0.5)
        assert first.status_code == 200 and first.headers.get("Server", "").startswith("gunicorn")
        s = requests.Session()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', s.get(f"{base}/login").text).group(1)
        username, password = USERS["staff"]
        r = s.post(f"{base}/login", data={"username": username, "password": password, "csrf_token": token},
                   allow_redirects=False)
        assert r.status_code == 302
        for _ in range(6):  # the session cookie is good in either worker process
            page = s.get(f"{base}/search", params={"q": "SMIC"})
            assert page.status_code == 200 and 'id="results"' in page.text
        # a 10,000-character query reaches the app and its clear 400, not the server's own refusal
        long = s.get(f"{base}/search", params={"q": "封" * 10_000})
        assert long.status_code == 400 and 'id="q"' in long.text
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert "2 workers x 2 threads" in text and text.count("Booting worker") == 2, text
