"""`--model local-chat-completions` against a real OpenAI-compatible server started by the test."""

from __future__ import annotations

import json
import os

from chat_server import ChatServer

from reflectevo_bench.harness.records import read_records


def test_reflect_protocol_over_chat_completions(tiny_model, tmp_path):
    out = tmp_path / "run"
    with ChatServer(tiny_model) as server:
        server.run_countdown(out, "--limit", "3", "--gen-kwargs", "max_gen_toks=8")
    recs = read_records(out)["countdown"]
    assert len(recs) == 3
    sent = [r["messages"] for r in server.requests]
    # every turn the harness recorded reached the server as exactly those chat messages, and its reply came back
    turns = [t for rec in recs for t in rec["turns"]]
    assert len(turns) == len(sent) == 9  # the tiny model is always wrong: attempt, reflection, retry per doc
    for turn in turns:
        assert turn["messages"] in sent
        assert json.loads(turn["prompt"]) == turn["messages"]
    assert all(r["max_tokens"] == 8 and r["temperature"] == 0 for r in server.requests)
    reflection = next(t for t in turns if t["kind"] == "reflection")
    assert reflection["messages"][-1]["content"].startswith("Your answer is incorrect.")
    assert os.path.exists(out / "results.json")
    # token counts are the server's own usage.completion_tokens, labelled as the backend's count
    assert {t["completion_tokens_source"] for t in turns} == {"backend"}
    assert sorted((t["response"], t["completion_tokens"]) for t in turns) == sorted(server.replies)
    assert all(1 <= t["completion_tokens"] <= 8 for t in turns)


def test_a_server_without_usage_gets_a_labelled_fallback(tiny_model, tmp_path):
    out = tmp_path / "run"
    with ChatServer(tiny_model, usage=False) as server:
        server.run_countdown(out, "--limit", "1", "--protocol", "single", "--gen-kwargs", "max_gen_toks=8")
    turns = [t for rec in read_records(out)["countdown"] for t in rec["turns"]]
    assert len(turns) == 1 and turns[0]["completion_tokens_source"] == "retokenized"
