"""`run` progress: it moves while the backend works (one step per finished request, tokens and a token rate, an
ETA from tokens, "phase k/K, chunk c/C" in the label), and where there is no terminal it prints one plain line per
phase instead of a bar."""

from __future__ import annotations

import io
import re

from rich.console import Console

from reflectevo_bench.harness.progress import RunProgress, clock, token_eta
from reflectevo_bench.harness.run import RunOptions, run


def _tiny_run(tiny_model, toy_yaml, tmp_path, console, **kw):
    return run(
        RunOptions(
            model="hf",
            model_args=f"pretrained={tiny_model}",
            tasks=str(toy_yaml),
            protocol="reflect",
            attempts=2,
            gen_kwargs="max_gen_toks=4",
            output=str(tmp_path / "run"),
            **kw,
        ),
        console,
    )


def test_token_eta():
    assert token_eta(0, 10, 0, 5.0) is None  # nothing finished: nothing to estimate from
    # 2 of 10 done, 40 tokens in 4 s (10 tok/s, 20 tok per request): 8 to go x 20 tok / 10 tok/s = 16 s
    assert token_eta(2, 10, 40, 4.0) == 16.0
    assert token_eta(10, 10, 400, 4.0) == 0.0
    assert clock(None) == "-:--:--" and clock(3725) == "1:02:05"


def test_progress_moves_before_the_backend_returns(tiny_model, toy_yaml, tmp_path, monkeypatch):
    from lm_eval.models.huggingface import HFLM

    seen: list[tuple[str, int]] = []  # (phase label, requests already reported) at each HF batch
    live: list[RunProgress] = []
    original_init, original_generate = RunProgress.__init__, HFLM._model_generate

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        live.append(self)

    def generate(self, *args, **kwargs):
        seen.append((live[0].label(), live[0]._done))
        return original_generate(self, *args, **kwargs)

    monkeypatch.setattr(RunProgress, "__init__", init)
    monkeypatch.setattr(HFLM, "_model_generate", generate)
    text = io.StringIO()
    console = Console(file=text, force_terminal=True, width=200)
    _tiny_run(tiny_model, toy_yaml, tmp_path, console, batch_size="1", limit=3)
    first = [done for label, done in seen if label.endswith("attempt 1")]
    assert first == [0, 1, 2], seen  # each batch of one sees the requests before it already counted
    assert seen[0][0] == "phase 1/3, chunk 1/1: attempt 1"
    out = text.getvalue()
    assert "phase 1/3, chunk 1/1: attempt 1" in out and "tok/s" in out and " tok " in out and "ETA" in out


def test_no_tty_prints_one_line_per_phase_and_chunk(tiny_model, toy_yaml, tmp_path):
    text = io.StringIO()
    console = Console(file=text, width=80)  # not a terminal: no live bar
    assert not console.is_terminal
    _, results = _tiny_run(tiny_model, toy_yaml, tmp_path, console, batch_size="4", limit=4, chunk_size=2)
    lines = text.getvalue().splitlines()
    starts = [line for line in lines if re.fullmatch(r"phase \d/3, chunk \d/2: \w+ \d: \d+ requests", line)]
    ends = [
        line
        for line in lines
        if re.fullmatch(
            r"phase \d/3, chunk \d/2: \w+ \d: done (\d+)/\1 requests, [\d,]+ tokens, [\d,.]+ tok/s, [\d.]+s", line
        )
    ]
    assert starts[0] == "phase 1/3, chunk 1/2: attempt 1: 2 requests"
    assert any(line.startswith("phase 1/3, chunk 2/2: attempt 1: done 2/2 requests") for line in ends)
    assert len(starts) == len(ends) >= 2
    assert not any("━" in line for line in lines)  # no bar drawn into the log
    generated = sum(int(re.search(r"done \d+/\d+ requests, ([\d,]+) tokens", e)[1].replace(",", "")) for e in ends)
    assert generated > 0


def test_format_json_keeps_progress_off_stdout(toy_yaml, tmp_path):
    import json

    import scripted_lm  # noqa: F401  (registers the scripted models)
    from click.testing import CliRunner

    from reflectevo_bench.cli import main

    r = CliRunner().invoke(
        main,
        [
            "run",
            "--model",
            "scripted-test",
            "--tasks",
            str(toy_yaml),
            "--output",
            str(tmp_path / "run"),
            "--format",
            "json",
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["results"]  # stdout is one JSON document
    assert "phase 1/3, chunk 1/1: attempt 1: 5 requests" in r.stderr
