"""Render leaderboard.html in headless Chromium: every table and plot is present and visible.

Needs the Debian package `chromium` (apt-get install -y chromium); skipped when it is missing. A copy of the
report with a small check script appended is rendered; the script writes what it finds into the DOM, which
`--dump-dom` returns. A screenshot is kept in test-artifacts/leaderboards/ (gitignored).
"""

from __future__ import annotations

import json
import re

from browser_check import chromium, dom_check, screenshot
from lb_helpers import ARTIFACTS, board_dir, runs  # noqa: F401  (session fixtures)

CHECK_SCRIPT = """
window.addEventListener('load', () => {
  const visible = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility === 'visible' && s.display !== 'none'; };
  const imgs = [...document.images].map(i => ({figure: i.closest('figure') && i.closest('figure').id,
    ok: i.complete && i.naturalWidth > 0 && i.naturalHeight > 0, w: i.naturalWidth, visible: visible(i)}));
  const tables = [...document.querySelectorAll('table')].map(t => ({id: t.id, rows: t.tBodies[0].rows.length,
    caption: t.caption ? t.caption.textContent : '', visible: visible(t)}));
  const out = document.createElement('pre');
  out.id = 'render-check';
  out.textContent = JSON.stringify({imgs, tables});
  document.body.appendChild(out);
});
"""


def test_html_renders_in_chromium(board_dir, tmp_path):
    chromium()  # skips where there is none
    board = json.loads((board_dir / "leaderboard.json").read_text(encoding="utf-8"))
    html = (board_dir / "leaderboard.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=['"]?https?:""", html), "the report must not load anything from the network"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = ARTIFACTS / "leaderboard-check.html"
    check = dom_check(html, CHECK_SCRIPT, page, tmp_path / "profile-dom")

    (group,) = board["groups"]
    expected_rows = {"models-1": sum(len(mdl["tasks"]) + 1 for mdl in group["models"])}
    for j, c in enumerate(group["comparisons"], 1):
        expected_rows[f"comparison-1-{j}"] = sum(len(r["tasks"]) + 1 for r in c["metrics"].values())
    tables = {t["id"]: t for t in check["tables"]}
    assert {k: tables[k]["rows"] for k in expected_rows} == expected_rows
    for t in tables.values():
        assert t["visible"], t
        assert "protocol=reflect" in t["caption"] and "feedback=oracle" in t["caption"]
    assert sorted(i["figure"] for i in check["imgs"]) == ["g1-accuracy", "g1-delta", "g1-flips"]
    for img in check["imgs"]:
        assert img["ok"] and img["visible"] and img["w"] > 100, img

    screenshot(page, ARTIFACTS / "leaderboard.png", tmp_path / "profile-shot")
