"""``reflectevo-bench view``: real runs of tiny random models on the hash tasks, rendered in headless Chromium.

The check script sets the page's filters the way a user would (select + change event) and counts the docs shown;
the expected counts are computed here from the records.
"""

from __future__ import annotations

import json
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser_check import dom_check, screenshot
from click.testing import CliRunner

HASH = Path(__file__).resolve().parents[1] / "leaderboards" / "fixtures" / "hashtask"
TASKS = f"{HASH / 'hash_a.yaml'},{HASH / 'hash_b.yaml'}"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "view"
PLANT = '</script><b id="injected">bold</b><!--'


def _main(args):
    from reflectevo_bench.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, tiny_model) -> tuple[Path, Path]:
    """run a: tiny seed 0, one branch; run b: tiny seed 1 with two reflection branches per failure. One response
    of run a holds markup that must stay text."""
    from reflectevo_bench.models.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("view_runs")
    other = build_tiny_model(root / "tiny1", seed=1)
    out = []
    for name, model, extra in (("a", tiny_model, []), ("b", other, ["--reflections", "2"])):
        result = _main(
            [
                "run",
                "--model-args",
                f"pretrained={model}",
                "--tasks",
                TASKS,
                "--limit",
                "8",
                "--gen-kwargs",
                "do_sample=true,temperature=1.0,max_gen_toks=8",
                "--output",
                root / name,
                *extra,
            ]
        )
        assert result.exit_code == 0, result.output
        out.append(root / name)
    path = out[0] / "samples_lb_hash_a.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[0])
    rec["turns"][0]["response"] = PLANT
    lines[0] = json.dumps(rec)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out[0], out[1]


def _records(run_dir: Path) -> list[dict]:
    from reflectevo_bench.harness.records import read_records

    return [r for recs in read_records(run_dir).values() for r in recs]


CHECK = """
window.addEventListener('load', () => {
  const set = (id, v) => { const s = document.getElementById(id); s.value = String(v);
    s.dispatchEvent(new Event('change')); };
  const count = () => document.querySelectorAll('#docs .doc').length;
  const cases = %s;
  const out = {initial: count(), cols: document.querySelector('#docs .doc').querySelectorAll('.col').length,
               injected: !!document.getElementById('injected'),
               planted: [...document.querySelectorAll('pre.response')].some(p => p.textContent === %s),
               analytics: document.querySelectorAll('table.analytics').length, counts: {}};
  for (const [name, f] of Object.entries(cases)) {
    for (const id of ['f-task', 'f-verdict', 'f-flip', 'f-branch', 'f-run']) set(id, id in f ? f[id] : (id === 'f-run' ? 0 : 'all'));
    out.counts[name] = count();
  }
  for (const id of ['f-task', 'f-verdict', 'f-flip', 'f-branch']) set(id, 'all');
  set('f-run', 0);
  const pre = document.createElement('pre'); pre.id = 'render-check'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
"""


def _flip(t1: bool, final: bool) -> str:
    return "w2r" if not t1 and final else "r2w" if t1 and not final else "same"


def test_view_filters_and_side_by_side_in_chromium(two_runs, tmp_path):
    a, b = two_runs
    out = tmp_path / "view.html"
    result = _main(["view", a, b, "--out", out])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "https://" not in html and "http://" not in html, "the page must load nothing from the network"
    ra, rb = _records(a), _records(b)
    by_a = {(r["task"], r["doc_id"]): r for r in ra}
    by_b = {(r["task"], r["doc_id"]): r for r in rb}
    assert by_a.keys() == by_b.keys()
    n = len(by_a)
    fl_a = {k: _flip(r["correct_at"][0], r["correct_at"][-1]) for k, r in by_a.items()}
    fl_b = {k: _flip(r["correct_at"][0], r["correct_at"][-1]) for k, r in by_b.items()}
    branch2 = sum(any(t.get("branch", 1) == 2 for t in r["turns"]) for r in rb)
    expected = {
        "task_a": sum(k[0] == "lb_hash_a" for k in by_a),
        "final_wrong_a": sum(not r["correct_at"][-1] for r in ra),
        "t1_wrong_b": sum(not r["correct_at"][0] for r in rb),
        "w2r_a": sum(v == "w2r" for v in fl_a.values()),
        "w2r_b": sum(v == "w2r" for v in fl_b.values()),
        "same_b_task_b": sum(v == "same" and k[0] == "lb_hash_b" for k, v in fl_b.items()),
        "branch2": branch2,
        "disagree": sum(by_a[k]["correct_at"][-1] != by_b[k]["correct_at"][-1] for k in by_a),
    }
    cases = {
        "task_a": {"f-task": "lb_hash_a"},
        "final_wrong_a": {"f-verdict": "final-wrong"},
        "t1_wrong_b": {"f-verdict": "t1-wrong", "f-run": 1},
        "w2r_a": {"f-flip": "w2r"},
        "w2r_b": {"f-flip": "w2r", "f-run": 1},
        "same_b_task_b": {"f-flip": "same", "f-run": 1, "f-task": "lb_hash_b"},
        "branch2": {"f-branch": 2},
        "disagree": {"f-flip": "disagree"},
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = tmp_path / "view-check.html"
    check = dom_check(
        html, CHECK % (json.dumps(cases), json.dumps(PLANT).replace("<", "\\u003c")), page, tmp_path / "profile-dom"
    )
    assert check["initial"] == n and check["cols"] == 2
    assert check["counts"] == expected
    assert 0 < expected["task_a"] < n and expected["t1_wrong_b"] > 0 and expected["branch2"] > 0, expected
    assert not check["injected"] and check["planted"], "model text must be shown as text, never as markup"
    assert check["analytics"] == 2
    shot = tmp_path / "view.png"
    screenshot(page, shot, tmp_path / "profile-shot")
    shutil.copy(shot, ARTIFACTS / "view.png")


def test_view_default_out_and_bad_input(two_runs, tmp_path):
    a, _ = two_runs
    result = _main(["view", a])
    assert result.exit_code == 0, result.output
    assert (a / "view.html").is_file()
    bad = _main(["view", tmp_path, "--out", tmp_path / "x.html"])
    assert bad.exit_code == 2 and "not a reflectevo-bench run dir" in bad.output
    assert len(bad.output.strip().splitlines()) == 1 and not (tmp_path / "x.html").exists()


def test_serve_serves_the_page_only():
    from reflectevo_bench.view.serve import make_server

    server = make_server("<html>hello</html>", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert server.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.read() == b"<html>hello</html>"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/../run.json", timeout=10)
        assert err.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_results_json_carries_reflection_analytics(two_runs):
    from reflectevo_bench.harness.analytics import reflection_analytics
    from reflectevo_bench.harness.records import read_records

    _, b = two_runs
    results = json.loads((b / "results.json").read_text(encoding="utf-8"))
    got = results["reflection_analytics"]
    assert set(got) == {"lb_hash_a", "lb_hash_b", "all"}
    assert got == json.loads(json.dumps(reflection_analytics(read_records(b))))
    assert got["all"]["reflections"] == sum(t["kind"] == "reflection" for r in _records(b) for t in r["turns"]) > 0
