"""The leaderboard HTML links each run that has a transcript view (``reflectevo-bench view RUN_DIR``) to it."""

from __future__ import annotations

import re

from lb_helpers import (
    copy_run,
    invoke_lb,
    invoke_main,
    runs,  # noqa: F401  (session fixture)
)


def test_leaderboard_links_runs_with_a_view(runs, tmp_path):  # noqa: F811
    cand = copy_run(runs["candidate"], tmp_path / "cand")
    base = copy_run(runs["base"], tmp_path / "base")
    result = invoke_main(["view", str(cand)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "board"
    result = invoke_lb(["build", cand, "--role", f"base={base}", "--out", out])
    assert result.exit_code == 0, result.output
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    links = re.findall(r"<a href='([^']+)'>([^<]+)</a>", html)
    assert len(links) == 1, links  # the base run has no view.html: no link for it
    href, label = links[0]
    assert href == "../cand/view.html" and (out / href).resolve() == (cand / "view.html").resolve()
    assert label.startswith("tiny1")


def test_leaderboard_shows_reflection_analytics(runs, tmp_path):  # noqa: F811
    from reflectevo_bench.harness.analytics import analyse
    from reflectevo_bench.harness.records import read_records

    out = tmp_path / "board"
    result = invoke_lb(["build", runs["candidate"], "--role", f"base={runs['base']}", "--out", out])
    assert result.exit_code == 0, result.output
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert "### Reflection analytics" in md
    for name in ("candidate", "base"):
        a = analyse([r for recs in read_records(runs[name]).values() for r in recs])
        row = next(
            line
            for line in md.splitlines()
            if line.startswith("| tiny")
            and f"| {a['reflections']} |" in line
            and ("tiny1" if name == "candidate" else "tiny0") in line
        )
        assert f"| {a['reflection_tokens_mean']:.1f} |" in row
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert 'id="analytics-1"' in html
