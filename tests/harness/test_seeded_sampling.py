"""Per-request sampling seeds (issue 17, item 5): a sampled request's tokens depend only on the run's --seed, its
salt (task/doc/phase/branch) and its prompt -- not on its batch neighbours -- so a sampled run killed with -9 and
resumed writes the records of an uninterrupted run."""

from __future__ import annotations

import json
import subprocess

import pytest
import torch
from kill_resume import ENV, kill_mid_run, run_cmd, sample_lines

from reflectevo_bench.harness.backend import Backend, build_lm
from reflectevo_bench.harness.seeding import SeededSampler, request_seed, samples

SAMPLED = {"do_sample": True, "temperature": 1.0, "max_gen_toks": 10, "until": ["\n\n\n"]}


def test_request_seed_and_sampling_rule():
    assert request_seed(1, "t/0/attempt 1") == request_seed(1, "t/0/attempt 1")
    assert len({request_seed(s, f"t/{d}/attempt 1") for s in (1, 2) for d in range(50)}) == 100
    assert samples({"do_sample": True}) and samples({"temperature": 0.7})
    assert not samples({"do_sample": False, "temperature": 0.7}) and not samples({"max_gen_toks": 5})


def test_sampler_draws_from_the_warped_distribution():
    import transformers as tf

    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])
    n = 6000
    scores = logits.repeat(n, 1)
    out = SeededSampler(list(range(n)), [tf.TemperatureLogitsWarper(0.7)])(None, scores.clone())
    assert torch.isfinite(out).sum(dim=1).eq(1).all()  # one token per row, for greedy decoding to pick
    freq = torch.bincount(out.argmax(dim=1), minlength=6).float() / n
    expected = torch.softmax(logits / 0.7, dim=0)
    assert (freq - expected).abs().max() < 0.025, (freq, expected)
    top2 = SeededSampler(list(range(n)), [tf.TopKLogitsWarper(2)])(None, scores.clone()).argmax(dim=1)
    assert set(top2.tolist()) == {0, 1}
    # a row's draw is its seed's: the same seeds in another order and batch size give the same tokens
    again = SeededSampler([5, 3], [])(None, logits.repeat(2, 1)).argmax(dim=1).tolist()
    alone = [SeededSampler([s], [])(None, logits.repeat(1, 1)).argmax(dim=1).item() for s in (5, 3)]
    assert again == alone


@pytest.fixture(scope="module")
def hf_lm(tiny_model):
    return build_lm("hf", {"pretrained": str(tiny_model)}, 8, "cpu")


def _generate(lm, seed, prompts, salts, gen_kwargs=SAMPLED):
    backend = Backend(lm, "generator")  # no cache: every call reaches the model
    if seed is not None:
        backend.seed_requests(seed)
    return [g.text for g in backend.generate([(p, dict(gen_kwargs)) for p in prompts], salts=salts)]


def test_hf_sample_does_not_depend_on_the_batch(hf_lm):
    prompts = ["Q: 1+1?\nA:", "Q: what is the capital of France?\nA:", "Count: 1 2 3", "Q: 1+1?\nA:"]
    salts = ["t/0/attempt 1", "t/1/attempt 1", "t/2/attempt 1", "t/0/reflection 1/b2"]  # 0 and 3: same prompt
    whole = _generate(hf_lm, 7, prompts, salts)
    assert len(set(whole)) == 4  # the same prompt under two salts: two samples
    assert _generate(hf_lm, 7, [prompts[2], prompts[0]], [salts[2], salts[0]]) == [whole[2], whole[0]]
    assert [_generate(hf_lm, 7, [p], [s])[0] for p, s in zip(prompts, salts)] == whole
    assert _generate(hf_lm, 8, prompts, salts) != whole  # negative control: another --seed samples otherwise
    # greedy requests are left to the backend as they were (stock lm-eval)
    greedy = {"do_sample": False, "max_gen_toks": 10, "until": ["\n\n\n"]}
    assert _generate(hf_lm, 7, prompts[:2], salts[:2], greedy) == _generate(hf_lm, None, prompts[:2], salts[:2], greedy)


def test_api_requests_carry_their_seed(tiny_model, tmp_path):
    from chat_server import ChatServer

    def run(out):
        with ChatServer(tiny_model) as server:
            gen = "max_gen_toks=4,do_sample=true,temperature=0.8"
            server.run_countdown(out, "--limit", "2", "--reflections", "2", "--gen-kwargs", gen)
        return server.requests

    first, second = run(tmp_path / "a"), run(tmp_path / "b")
    seeds = [r["seed"] for r in first]
    assert len(first) == 2 * 5 and len(set(seeds)) == len(seeds)  # per request: the two branches differ too
    assert sorted(seeds) == sorted(r["seed"] for r in second)
    env = json.loads((tmp_path / "a" / "run.json").read_text())["environment"]
    assert env["request_seeds"]["generator"].startswith("api: ")


ARGS = [
    "--tasks",
    "countdown",
    "--limit",
    "9",
    "--reflections",
    "2",
    "--batch-size",
    "4",
    "--chunk-size",
    "3",
    "--gen-kwargs",
    "max_gen_toks=8,do_sample=true,temperature=1.0",
]


@pytest.mark.timeout(900)
def test_sampled_run_killed_and_resumed_equals_uninterrupted(tiny_model, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(run_cmd(tiny_model, whole, *ARGS), check=True, env=ENV, capture_output=True)
    assert json.loads((whole / "run.json").read_text())["environment"]["request_seeds"]["generator"].startswith("hf: ")

    # kill once a chunk is on disk and the next one is under way
    done_before = kill_mid_run(run_cmd(tiny_model, killed, *ARGS), killed / "samples_countdown.jsonl", 3, 400)
    assert 3 <= done_before < 9, "the kill should land mid-run"

    resumed = subprocess.run(run_cmd(tiny_model, killed, *ARGS, "--resume"), env=ENV, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {done_before} docs already finished" in resumed.stdout
    got, want = sample_lines(killed, "countdown"), sample_lines(whole, "countdown")
    assert len(got) == 9 and got == want
    recs = [json.loads(x) for x in want]
    assert all({t["branch"] for t in r["turns"]} == {1, 2} for r in recs)  # the tiny model fails: 2 branches each
    a = json.loads((whole / "results.json").read_text())
    b = json.loads((killed / "results.json").read_text())
    assert a["results"] == b["results"] and b["sessions"] == 2 and b["complete"] is True


def test_a_backend_without_request_seeds_is_named_once_and_recorded():
    from rich.console import Console

    from reflectevo_bench.harness.run import _seed_requests

    class BatchedAPI:  # e.g. a completions API sending 4 prompts per request body
        _batch_size = 4

        def generate_until(self, requests, disable_tqdm=False):
            return []

    class SampledTask:
        def generation_kwargs(self, defaults, overrides):
            return {**defaults, **overrides}

    console = Console(record=True, width=300)
    how = _seed_requests(console, [SampledTask()], [{"do_sample": True}], 3, Backend(BatchedAPI(), "generator"), None)
    assert how == {
        "generator": "unsupported: BatchedAPI sends 4 prompts per request with one seed; a sampled run "
        "resumed after a kill may differ from an uninterrupted one"
    }
    lines = console.export_text().strip().splitlines()
    assert len(lines) == 1 and "generator backend cannot seed each request (BatchedAPI sends 4" in lines[0]
    quiet = Console(record=True)
    _seed_requests(quiet, [SampledTask()], [{"do_sample": False}], 3, Backend(BatchedAPI(), "generator"), None)
    assert quiet.export_text() == ""  # greedy runs need no seeds: nothing to say
