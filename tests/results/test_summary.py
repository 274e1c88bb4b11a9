"""Results where there is no TTY: a Markdown table (parsed back here), group rows in the table and in
results.json (pooled over the family's docs), and ``--format json``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reflectevo_bench.harness.groups import family_of, group_members


def _main(args):
    from reflectevo_bench.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def parse_markdown_tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table in ``text`` as a list of rows (header → cell); cells split on unescaped pipes."""
    tables, block = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|") and line.endswith("|"):
            block.append([c.replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line[1:-1])])
            continue
        if block:
            header, align, *rows = block
            assert all(re.fullmatch(r":?-{3,}:?|-{2,}:", a) for a in align), align
            assert all(len(r) == len(header) for r in rows)
            tables.append([dict(zip(header, r)) for r in rows])
            block = []
    return tables


@pytest.fixture(scope="module")
def arith_run(tmp_path_factory, tiny_model) -> Path:
    out = tmp_path_factory.mktemp("summary") / "run"
    result = _main(
        [
            "run",
            "--model-args",
            f"pretrained={tiny_model}",
            "--tasks",
            "arith",
            "--limit",
            "2",
            "--gen-kwargs",
            "max_gen_toks=4",
            "--output",
            out,
        ]
    )
    assert result.exit_code == 0, result.output
    return out


def test_no_tty_prints_a_markdown_table_with_group_rows(arith_run):
    result = _main(["results", arith_run])  # CliRunner's stdout is not a terminal
    assert result.exit_code == 0, result.output
    (table,) = parse_markdown_tables(result.output)
    names = [row["task"] for row in table]
    assert names == ["arith", " - arith_1op", " - arith_2op", " - arith_3op"]
    assert "┃" not in result.output and "│" not in result.output  # not the rich table
    results = json.loads((arith_run / "results.json").read_text())
    group = results["groups"]["arith"]
    assert group["tasks"] == ["arith_1op", "arith_2op", "arith_3op"]
    assert group["n"] == sum(results["results"][t]["n"] for t in group["tasks"]) == 6
    for k in (1, 2):  # pooled over docs: weighted by task size
        pooled = sum(results["results"][t][f"acc@t{k}"] * results["results"][t]["n"] for t in group["tasks"]) / 6
        assert group[f"acc@t{k}"] == pytest.approx(pooled)
    assert table[0]["n"] == "6" and table[0]["acc@t1 [95% CI]"].startswith(f"{100 * group['acc@t1']:.1f} [")


def test_format_json_and_md_and_bad_format(arith_run):
    result = _main(["results", arith_run, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["results"]) == {"arith_1op", "arith_2op", "arith_3op"} and "arith" in data["groups"]
    result = _main(["results", arith_run, "--format", "md"])
    assert parse_markdown_tables(result.output)
    bad = _main(["results", arith_run, "--format", "xml"])
    assert bad.exit_code == 2


def test_long_names_are_never_cut():
    from reflectevo_bench.harness.summary import markdown_table

    long = "bbh_tracking_shuffled_objects_seven_objects"
    m = {
        "n": 3,
        "feedback": "oracle",
        "acc@t1": 0.5,
        "acc@t1_ci95": [0.1, 0.9],
        "acc@t2": 0.5,
        "acc@t2_ci95": [0.1, 0.9],
        "delta": 0.0,
        "wrong_to_right": 0,
        "right_to_wrong": 0,
    }
    results = {
        "attempts": 2,
        "protocol": "reflect",
        "feedback_mode": "oracle",
        "results": {long: m, "bbh_a|b": m},
        "groups": {"bbh": {**m, "tasks": [long, "bbh_a|b"]}},
    }
    (table,) = parse_markdown_tables(markdown_table(results))
    assert [r["task"] for r in table] == ["bbh", f" - {long}", " - bbh_a|b"]


def test_families():
    assert family_of("bbh_navigate") == "bbh" and family_of("bigbench_navigate") == "bigbench"
    assert family_of("mbpp_sanitized") == "mbpp" and family_of("bbhx") is None and family_of("countdown") is None
    assert group_members(["bbh_a", "countdown", "bbh_b", "mbpp"]) == {"bbh": ["bbh_a", "bbh_b"]}
