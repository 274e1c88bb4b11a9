"""completion_tokens is the backend's own count of generated tokens (never above max_gen_toks), and says so."""

from __future__ import annotations

import pytest

from reflectevo_bench.harness.backend import BACKEND_COUNT, RETOKENIZED, Backend, build_lm
from reflectevo_bench.harness.response_cache import ResponseCache


@pytest.fixture(scope="module")
def tiny_lm(tiny_model):
    return build_lm("hf", {"pretrained": str(tiny_model)}, 2, "cpu")


def test_counts_come_from_the_generated_ids_and_survive_the_cache(tiny_lm, tmp_path):
    backend = Backend(tiny_lm, "generator", ResponseCache(tmp_path / "cache.jsonl"))
    prompts = [backend.render([{"role": "user", "content": q}]) for q in ("What is 2 plus 3?", "Name a colour.")]
    requests = [(p, {"until": [], "do_sample": False, "max_gen_toks": 7}) for p in prompts]
    outs = backend.generate(requests)
    for out in outs:
        assert out.completion_tokens_source == BACKEND_COUNT and 1 <= out.completion_tokens <= 7
        assert backend.count_tokens(out.text) is not None
    backend.cache.close()
    again = Backend(tiny_lm, "generator", ResponseCache(tmp_path / "cache.jsonl"))  # a resumed session
    hits = again.generate(requests)
    assert [(h.cached, h.completion_tokens, h.completion_tokens_source) for h in hits] == [
        (True, o.completion_tokens, BACKEND_COUNT) for o in outs
    ]
    again.cache.close()


def test_a_stop_sequence_ends_the_count_where_it_is_completed(tiny_lm):
    backend = Backend(tiny_lm, "generator")
    prompt = backend.render([{"role": "user", "content": "Count: one two three"}])
    free = backend.generate([(prompt, {"until": [], "do_sample": False, "max_gen_toks": 12})])[0]
    assert free.completion_tokens_source == BACKEND_COUNT
    if len(free.text) < 4:
        pytest.skip("the tiny model wrote too little to cut")
    stop = free.text[len(free.text) // 2 :][:3]
    cut = backend.generate([(prompt, {"until": [stop], "do_sample": False, "max_gen_toks": 12})])[0]
    assert cut.text == free.text.split(stop)[0]
    assert cut.completion_tokens_source == BACKEND_COUNT and cut.completion_tokens <= free.completion_tokens


def test_an_lm_without_generated_ids_is_retokenised():
    class PlainLM:
        tokenizer = None

        def tok_encode(self, text):
            return text.split()

        def generate_until(self, requests):
            return ["one two three" for _ in requests]

    out = Backend(PlainLM(), "generator").generate([("ctx", {"until": []})])[0]
    assert (out.completion_tokens, out.completion_tokens_source) == (3, RETOKENIZED)
