"""`leaderboard build` on real tiny-model run dirs: content, agreement of JSON/MD/HTML, refusals."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lb_helpers import board_dir, copy_run, invoke_lb, rewrite_records, runs  # noqa: F401  (session fixtures)

from reflectevo_bench.leaderboards.fmt import parse_number

NUM = r"[+\u2212-]?\d+\.\d"
CELL = re.compile(rf"^({NUM})(?: \[({NUM}), ({NUM})\])?$")


def load_board(board_dir: Path) -> dict:
    return json.loads((board_dir / "leaderboard.json").read_text(encoding="utf-8"))


def test_board_content(board_dir, runs):
    board = load_board(board_dir)
    assert [p.name for p in sorted(board_dir.iterdir())] == ["leaderboard.html", "leaderboard.json", "leaderboard.md"]
    (group,) = board["groups"]
    assert (group["protocol"], group["feedback_mode"], group["attempts"]) == ("reflect", "oracle", 2)
    assert [m["role"] for m in group["models"]] == ["base", "candidate", "reference"]
    assert {m["label"] for m in group["models"]} == {"tiny0", "tiny1", "tiny2"}
    for m in group["models"]:
        assert m["params"] == 131392 and m["params_source"] == "safetensors"
        run_results = json.loads((Path(m["source"]) / "results.json").read_text())["results"]
        for task, t in m["tasks"].items():  # the harness's own metrics, recomputed from the records
            for key in (
                "n",
                "acc@t1",
                "acc@t2",
                "acc@t1_ci95",
                "acc@t2_ci95",
                "delta",
                "delta_ci95",
                "wrong_to_right",
                "right_to_wrong",
            ):
                assert t[key] == pytest.approx(run_results[task][key]), (task, key)
        assert m["average"]["acc@t2"] == pytest.approx(sum(t["acc@t2"] for t in m["tasks"].values()) / 2)
    kinds = [c["kind"] for c in group["comparisons"]]
    assert kinds == ["candidate vs base", "candidate vs reference"]
    accs = sorted(m["average"]["acc@t2"] for m in group["models"])
    assert accs[0] != accs[-1], "tiny seeds should give different accuracies"
    line = re.compile(
        rf"^candidate tiny1 acc@t2 \d+\.\d vs (base tiny0|reference tiny2) \d+\.\d: {NUM} "
        rf"\[{NUM}, {NUM}\], (not )?significant \(exact McNemar p = "
    )
    for c in group["comparisons"]:
        assert line.match(c["summary"]), c["summary"]
        overall = c["metrics"]["acc@t2"]["overall"]
        assert overall["n"] == 40
        lo, hi = overall["diff_ci95"]
        assert lo <= overall["diff"] + 1e-9 and overall["diff"] - 1e-9 <= hi


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict] = {}
        self._cur = None
        self._row = None
        self._in = None
        self.imgs = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._cur = self.tables.setdefault(a["id"], {"caption": "", "rows": []})
        elif tag == "tr" and self._cur is not None:
            self._row = []
        elif tag in ("td", "th", "caption") and self._cur is not None:
            self._in = tag
            if tag != "caption":
                self._row.append("")
        elif tag == "img":
            self.imgs += 1
            assert a["src"].startswith("data:image/png;base64,")

    def handle_endtag(self, tag):
        if tag == "table":
            self._cur = None
        elif tag == "tr" and self._cur is not None:
            self._cur["rows"].append(self._row)
        elif tag in ("td", "th", "caption"):
            self._in = None

    def handle_data(self, data):
        if self._in == "caption":
            self._cur["caption"] += data
        elif self._in:
            self._row[-1] += data


def _md_tables(md: str) -> list[tuple[str, list[list[str]]]]:
    """(caption line, rows incl. header) of every Markdown table; the caption is the bold line above it."""
    out, lines = [], md.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("| ") and (i + 1 < len(lines)) and lines[i + 1].startswith("|---"):
            cap = next(lines[j] for j in range(i - 1, -1, -1) if lines[j].startswith("**"))
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                if not lines[i].startswith("|---"):
                    rows.append([c.strip() for c in lines[i].strip("|").split(" | ")])
                i += 1
            out.append((cap.strip("*"), rows))
        i += 1
    return out


def _check_cell(cell: str, value: float, bounds=None) -> None:
    m = CELL.match(cell)
    assert m, cell
    assert parse_number(m.group(1)) == pytest.approx(100 * value, abs=0.051)
    if bounds is not None:
        assert parse_number(m.group(2)) == pytest.approx(100 * bounds[0], abs=0.051)
        assert parse_number(m.group(3)) == pytest.approx(100 * bounds[1], abs=0.051)


def test_numbers_agree_in_json_md_html(board_dir):
    board = load_board(board_dir)
    (group,) = board["groups"]
    md = (board_dir / "leaderboard.md").read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed((board_dir / "leaderboard.html").read_text(encoding="utf-8"))
    md_tables = _md_tables(md)
    assert len(md_tables) == 4 and len(parser.tables) == 4
    html_tables = [
        parser.tables["models-1"],
        parser.tables["analytics-1"],
        parser.tables["comparison-1-1"],
        parser.tables["comparison-1-2"],
    ]
    for (md_cap, md_rows), html in zip(md_tables, html_tables):
        assert "protocol=reflect" in md_cap and "feedback=oracle" in md_cap  # on every table
        assert "protocol=reflect" in html["caption"] and "feedback=oracle" in html["caption"]
        assert md_rows == html["rows"], "Markdown and HTML tables differ"
    header, *rows = md_tables[0][1]
    assert header[:7] == ["model", "role", "params", "task", "n", "acc@t1 [95% CI]", "acc@t2 [95% CI]"]
    by_key = {(r[0], r[3]): r for r in rows}
    for m in group["models"]:
        for task, t in m["tasks"].items():
            r = by_key[(m["label"], task)]
            assert int(r[4]) == t["n"]
            _check_cell(r[5], t["acc@t1"], t["acc@t1_ci95"])
            _check_cell(r[6], t["acc@t2"], t["acc@t2_ci95"])
            _check_cell(r[7], t["delta"], t["delta_ci95"])
            assert (int(r[8]), int(r[9])) == (t["wrong_to_right"], t["right_to_wrong"])
        avg = by_key[(m["label"], "average")]
        _check_cell(avg[5], m["average"]["acc@t1"])
        _check_cell(avg[6], m["average"]["acc@t2"])
        _check_cell(avg[7], m["average"]["delta"])
    for comp, (_, (_, *crow)) in zip(group["comparisons"], md_tables[2:]):  # [1]: the analytics table
        cells = {(r[0], r[1]): r for r in crow}
        for metric, res in comp["metrics"].items():
            for task, r in list(res["tasks"].items()) + [("all (pooled)", res["overall"])]:
                row = cells[(task, metric)]
                assert int(row[2]) == r["n"]
                _check_cell(row[3], r["acc_a"])
                _check_cell(row[4], r["acc_b"])
                _check_cell(row[5], r["diff"], r["diff_ci95"])
                assert (int(row[6]), int(row[7])) == (r["a_only"], r["b_only"])
                assert row[9] == ("yes" if r["significant"] else "no")
        assert f"- {comp['summary']}" in md
    assert parser.imgs == 3
    assert len(md) < 60000  # fits a PR comment


def test_spec_yaml_labels_and_reproducible_stats(runs, tmp_path):
    spec = tmp_path / "board.yaml"
    spec.write_text(
        f"title: Spec test\nruns:\n  - {{path: {runs['base']}, role: base, label: Base-0}}\n"
        f"  - {{path: {runs['candidate']}, label: Ckpt-1}}\n",
        encoding="utf-8",
    )
    outs = []
    for name in ("a", "b"):
        result = invoke_lb(["build", "--spec", spec, "--out", tmp_path / name, "--seed", "3"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("candidate Ckpt-1 acc@t2 ")
        outs.append(load_board(tmp_path / name))
    assert [m["label"] for m in outs[0]["groups"][0]["models"]] == ["Base-0", "Ckpt-1"]
    assert outs[0]["groups"] == outs[1]["groups"]  # seeded bootstrap: same CIs
    assert "<title>Spec test</title>" in (tmp_path / "a" / "leaderboard.html").read_text(encoding="utf-8")


def _refused(args: list, out: Path, expect: str) -> None:
    result = invoke_lb(["build", *args, "--out", out])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0], result.output
    assert not out.exists(), "nothing may be written when the input is refused"


def test_mismatched_docs_refused(runs, tmp_path):
    fewer = copy_run(runs["candidate"], tmp_path / "fewer")
    rewrite_records(fewer, lambda r: None if r["task"] == "lb_hash_b" and r["doc_id"] >= 15 else r)
    _refused(["--role", f"base={runs['base']}", fewer], tmp_path / "out", "task lb_hash_b has different docs")


def test_mismatched_prompts_refused(runs, tmp_path):
    edited = copy_run(runs["candidate"], tmp_path / "edited")

    def edit(rec):
        if rec["doc_id"] == 3:
            rec["turns"][0]["messages"][0]["content"] += " Be brief."
        return rec

    rewrite_records(edited, edit)
    _refused(["--role", f"base={runs['base']}", edited], tmp_path / "out", "different attempt-1 prompts")


def test_mismatched_protocol_refused_or_shown_apart(runs, tmp_path):
    _refused(["--role", f"base={runs['base']}", runs["self_refine"]], tmp_path / "out", "different protocols")
    out = tmp_path / "apart"
    result = invoke_lb(
        [
            "build",
            "--role",
            f"base={runs['base']}",
            runs["self_refine"],
            runs["candidate"],
            "--allow-mismatch",
            "--out",
            out,
        ]
    )
    assert result.exit_code == 0, result.output
    board = load_board(out)
    assert [(g["protocol"], g["feedback_mode"]) for g in board["groups"]] == [
        ("reflect", "oracle"),
        ("self-refine", "none"),
    ]
    assert [len(g["comparisons"]) for g in board["groups"]] == [1, 0]
    (nc,) = board["not_compared"]
    assert "different protocols" in nc["reason"]
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert "## Not compared" in md and "protocol=self-refine · feedback=none" in md
    assert (out / "leaderboard.html").read_text(encoding="utf-8").count("<img ") == 6


@pytest.mark.parametrize(
    "args,expect",
    [
        (["/nonexistent/run"], "does not exist"),
        (["--role", "boss=/tmp"], "unknown role 'boss'"),
        (["--role", "base"], "expected ROLE=DIR"),
        (["--spec", "/nonexistent.yaml"], "cannot read --spec"),
    ],
)
def test_bad_input_exit_2(args, expect, tmp_path):
    _refused(args, tmp_path / "out", expect)


def test_two_bases_refused(runs, tmp_path):
    _refused(
        ["--role", f"base={runs['base']}", "--role", f"base={runs['candidate']}"],
        tmp_path / "out",
        "more than one base",
    )


def test_model_size_from_config(tmp_path):
    from reflectevo_bench.leaderboards.modelsize import format_params, model_size

    folder = tmp_path / "m"
    folder.mkdir()
    cfg = {
        "model_type": "llama",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "vocab_size": 768,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "head_dim": 16,
        "tie_word_embeddings": True,
        "hidden_act": "silu",
    }
    (folder / "config.json").write_text(json.dumps(cfg))
    assert model_size(f"pretrained={folder}") == (131392, "estimate")  # = the tiny model's real count
    (folder / "config.json").write_text(json.dumps({**cfg, "num_parameters": 1_700_000_000}))
    assert model_size(f"pretrained={folder},dtype=bfloat16") == (1_700_000_000, "config")
    assert model_size("pretrained=HuggingFaceTB/SmolLM2-135M-Instruct") == (None, "unknown")
    assert model_size("base_url=http://x,model=gpt") == (None, "unknown")
    assert [format_params(p) for p in (None, 131392, 134_515_008, 1_711_376_384)] == ["?", "131K", "135M", "1.7B"]


def test_same_model_twice_gets_distinct_labels(runs, tmp_path):
    again = copy_run(runs["base"], tmp_path / "again")
    result = invoke_lb(["build", "--role", f"base={runs['base']}", "--role", f"other={again}", "--out", tmp_path / "o"])
    assert result.exit_code == 0, result.output
    models = load_board(tmp_path / "o")["groups"][0]["models"]
    assert [(m["label"], m["role"]) for m in models] == [("tiny0 (base)", "base"), ("tiny0 (again)", "other")]
    assert models[0]["tasks"] == models[1]["tasks"]
