"""`stakegraph serve` runs the app under waitress (not Flask's development server), keeps --host
and --port, takes its thread count from the settings, and the login form works through it."""

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
from web.server import server_options

ROOT = Path(__file__).resolve().parents[1]


def test_server_options_come_from_the_settings() -> None:
    s = load_settings({"web_threads": 3, "trusted_proxy": "127.0.0.1"}, env={})
    opts = server_options(s, "127.0.0.1", 8080)
    assert opts["threads"] == 3 and opts["host"] == "127.0.0.1" and opts["port"] == 8080
    assert opts["trusted_proxy"] == "127.0.0.1" and "x-forwarded-proto" in opts["trusted_proxy_headers"]
    assert "trusted_proxy" not in server_options(load_settings({}, env={}), "0.0.0.0", 80)


def test_serve_runs_waitress_and_logs_in(home: Path, tmp_path: Path) -> None:
    from conftest import USERS

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STAKEGRAPH_WEB_THREADS": "2"}
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
        assert first.status_code == 200 and first.headers.get("Server") == "stakegraph"  # waitress, our ident
        s = requests.Session()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', s.get(f"{base}/login").text).group(1)
        username, password = USERS["staff"]
        r = s.post(f"{base}/login", data={"username": username, "password": password, "csrf_token": token},
                   allow_redirects=False)
        assert r.status_code == 302
        page = s.get(f"{base}/search", params={"q": "SMIC"})
        assert page.status_code == 200 and 'id="results"' in page.text
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
    assert "2 threads" in (tmp_path / "serve.log").read_text()
