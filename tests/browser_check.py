"""Headless Chromium for the HTML tests (the Debian package `chromium`; tests skip when it is missing)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest


def chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.skip("headless Chromium not found: apt-get install -y chromium (or set CHROMIUM=/path/to/chrome)")


def run_chromium(profile: Path, *args: str, height: int = 2000) -> subprocess.CompletedProcess:
    cmd = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size=1280,{height}",
        "--virtual-time-budget=5000",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def dom_check(html: str, script: str, page: Path, profile: Path) -> dict:
    """Render ``html`` with ``script`` appended (it must put JSON into ``<pre id="render-check">``); return it."""
    page.write_text(html.replace("</body>", f"<script>{script}</script></body>"), encoding="utf-8")
    dom = run_chromium(profile, "--dump-dom", page.as_uri())
    m = re.search(r'<pre id="render-check">(.*?)</pre>', dom.stdout, re.DOTALL)
    assert m, f"the check script did not run; chromium said: {dom.stderr[-2000:]}"
    return json.loads(unescape(m.group(1)))


def screenshot(page: Path, shot: Path, profile: Path, height: int = 2000) -> None:
    shot.unlink(missing_ok=True)
    result = run_chromium(profile, f"--screenshot={shot}", page.as_uri(), height=height)
    assert shot.is_file() and shot.stat().st_size > 20_000, result.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[:2] == (height, 1280) and pixels.std() > 0.05, "the screenshot looks blank"
