"""A protocol defined in one file outside the package (tests/fixtures/plugins/toy_protocol.py), run by
``reflectevo-bench run --protocol FILE:NAME`` on the tiny model: the records hold the turns it asked for, resume
and rescore find it again, and bad specs fail with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reflectevo_bench.cli import main
from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.protocols import PROTOCOLS, find_protocol
from reflectevo_bench.harness.records import read_records

PLUGIN = Path(__file__).resolve().parents[1] / "fixtures" / "plugins" / "toy_protocol.py"
HINT = "Hint: add the two numbers digit by digit. Reply with the number only."


def _run(*args: object):
    return CliRunner().invoke(main, ["run", *map(str, args)])


def test_plugin_protocol_runs_through_the_cli(tiny_model, toy_yaml, tmp_path):
    out = tmp_path / "run"
    args = [
        "--model-args",
        f"pretrained={tiny_model}",
        "--tasks",
        toy_yaml,
        "--protocol",
        f"{PLUGIN}:hint-retry",
        "--attempts",
        "3",
        "--gen-kwargs",
        "max_gen_toks=4",
        "--device",
        "cpu",
        "--output",
        out,
    ]
    res = _run(*args)
    assert res.exit_code == 0, res.output + repr(res.exception)
    recs = read_records(out)["toy_scripted"]
    assert len(recs) == 5 and all(r["protocol"] == "hint-retry" and r["feedback_mode"] == "oracle" for r in recs)
    went_on = [r for r in recs if not r["correct"][0]]
    assert went_on, "the random tiny model should miss some toy docs"
    for rec in recs:
        turns = rec["turns"]
        assert all(t["kind"] == "attempt" for t in turns)  # no reflection turn: the plugin has none
        for k, turn in enumerate(turns[1:], 2):
            msgs = turn["messages"]
            # the same conversation goes on, and the plugin's fixed hint is the new user turn (no feedback text)
            assert msgs[-1] == {"role": "user", "content": HINT} and turn["round"] == k
            assert msgs[:-2] == turns[k - 2]["messages"] and msgs[-2]["role"] == "assistant"
        stopped_right = any(rec["correct"]) and rec["correct"].index(True) == len(turns) - 1
        assert len(turns) == 3 or stopped_right
    ident = json.loads((out / "run.json").read_text())["identity"]
    assert ident["protocol"] == "hint-retry" and ident["protocol_file"] == f"{PLUGIN}:hint-retry"
    assert "hint-retry" not in PROTOCOLS  # nothing was registered: the one file is the whole protocol
    # resume finds the same protocol and redoes nothing; rescore loads it from the recorded file
    again = _run(*args, "--resume")
    assert again.exit_code == 0, again.output + repr(again.exception)
    assert read_records(out)["toy_scripted"] == recs
    rescored = CliRunner().invoke(main, ["results", str(out), "--rescore", "--format", "json"])
    assert rescored.exit_code == 0, rescored.output + repr(rescored.exception)


def test_plugin_by_attribute_name_and_shipped_protocols_unchanged():
    assert find_protocol(f"{PLUGIN}:HINT_RETRY").name == "hint-retry"
    assert list(PROTOCOLS) == ["single", "reflect", "retry", "self-refine", "resample", "reflect-answer"]


@pytest.mark.parametrize(
    "spec, says",
    [
        ("no/such/file.py:x", "no file no/such/file.py"),
        (f"{PLUGIN}:nope", "defines no protocol named 'nope' (it defines hint-retry)"),
        ("reflekt", "unknown --protocol 'reflekt'"),
    ],
)
def test_bad_protocol_specs_fail_in_one_line(spec, says, tmp_path, toy_yaml):
    with pytest.raises(BenchError, match=says.replace("(", r"\(").replace(")", r"\)")):
        find_protocol(spec)
    res = _run("--tasks", toy_yaml, "--protocol", spec, "--output", tmp_path / "bad")
    assert res.exit_code == 2 and says in res.output and not (tmp_path / "bad").exists()


def test_a_broken_plugin_file_is_one_line(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("raise RuntimeError('oops')\n")
    with pytest.raises(BenchError, match="importing .*broken.py failed: RuntimeError: oops"):
        find_protocol(f"{bad}:x")
