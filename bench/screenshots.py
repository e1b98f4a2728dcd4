"""Refresh docs/screenshots/*.png (login, search, entity, pipeline, project, chain) for the README.

The pictures are taken by the browser test itself (tests/test_browser.py), so they always show
the path the test walks; this script only points its screenshot folder at docs/screenshots.

    .venv/bin/python bench/screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    target = ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "STAKEGRAPH_SCREENSHOTS": str(target)}
    cmd = [sys.executable, "-m", "pytest", "tests/test_browser.py", "tests/test_chain.py::test_chain_page_in_the_browser",
           "-q", "-p", "no:cacheprovider"]
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    for png in sorted(target.glob("*.png")):
        print(f"{png.relative_to(ROOT)}  {png.stat().st_size // 1024} KiB")
    return code


if __name__ == "__main__":
    sys.exit(main())
