"""`--model local-chat-completions` against a real `vllm serve` on loopback: the command docker/compose.yaml runs
(`vllm serve MODEL --host --port --enable-prefix-caching --seed --max-model-len`; here also --enforce-eager, which
only skips torch.compile to start faster on CPU)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from vllm_helpers import cli, need_vllm, subprocess_env

need_vllm()

from reflectevo_bench.harness.records import read_records  # noqa: E402

LIMIT, MAX_GEN_TOKS = 4, 12
START_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return reply.read().decode()


@pytest.fixture(scope="module")
def vllm_server(tiny_vllm_model, tmp_path_factory):
    """`vllm serve` on 127.0.0.1, healthy (/health answers) before the tests, always stopped after them."""
    port = _free_port()
    log = tmp_path_factory.mktemp("vllm-serve") / "serve.log"
    vllm = Path(sys.executable).with_name("vllm")
    command = [
        str(vllm),
        "serve",
        str(tiny_vllm_model),
        "--host",
        "127.0.0.1",
        f"--port={port}",
        "--enable-prefix-caching",
        "--seed=0",
        "--max-model-len=2048",
        "--enforce-eager",
    ]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            command,
            env=subprocess_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vllm serve exited {proc.returncode} before it was healthy:\n{log.read_text()[-4000:]}")
            try:
                _get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"vllm serve not healthy after {START_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")
                time.sleep(1)
        yield {"base": f"http://127.0.0.1:{port}", "model": str(tiny_vllm_model)}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the engine processes it spawned
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _prefix_cache_counts(base: str) -> tuple[float, float]:
    """(queries, hits) of vLLM's prefix cache, in tokens, from its Prometheus /metrics."""
    text = _get(f"{base}/metrics")

    def total(name: str) -> float:
        found = re.findall(rf"^vllm:{name}(?:_total)?{{[^}}]*}} ([0-9.e+]+)$", text, re.M)
        assert found, f"vllm:{name} not in /metrics"
        return sum(float(v) for v in found)

    return total("prefix_cache_queries"), total("prefix_cache_hits")


def test_reflect_run_over_vllm_serve(vllm_server, tmp_path):
    base, model = vllm_server["base"], vllm_server["model"]
    queries0, hits0 = _prefix_cache_counts(base)
    out = tmp_path / "run"
    cli(
        "run",
        "--model",
        "local-chat-completions",
        "--model-args",
        f"base_url={base}/v1/chat/completions,model={model},num_concurrent=4,max_retries=3",
        "--tasks",
        "countdown",
        "--limit",
        str(LIMIT),
        "--gen-kwargs",
        f"max_gen_toks={MAX_GEN_TOKS}",
        "--output",
        str(out),
    )
    recs = read_records(out)["countdown"]
    assert [r["doc_id"] for r in recs] == list(range(LIMIT))
    turns = [t for r in recs for t in r["turns"]]
    # the random model is always wrong: attempt, reflection, attempt per doc, every one answered by the server
    assert all([t["kind"] for t in r["turns"]] == ["attempt", "reflection", "attempt"] for r in recs)
    for rec in recs:  # each later turn carries the earlier conversation: that is the prefix the cache shares
        first, reflection, retry = rec["turns"]
        assert reflection["messages"][: len(first["messages"])] == first["messages"]
        assert retry["messages"][: len(reflection["messages"])] == reflection["messages"]
    assert {t["completion_tokens_source"] for t in turns} == {"backend"}  # the server's usage.completion_tokens
    assert all(1 <= t["completion_tokens"] <= MAX_GEN_TOKS for t in turns)
    results = json.loads((out / "results.json").read_text())["results"]["countdown"]
    assert results["n"] == LIMIT and results["retries"] == LIMIT
    queries1, hits1 = _prefix_cache_counts(base)
    assert queries1 > queries0
    print(f"prefix cache: {queries1 - queries0:.0f} tokens queried, {hits1 - hits0:.0f} hit")
    assert hits1 > hits0, "the retries shared no cached prefix with their attempt-1 requests"
