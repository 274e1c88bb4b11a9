"""Records and the response cache survive a write cut short by a kill."""

from __future__ import annotations

import json

import pytest

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.records import SampleWriter, read_records, samples_path
from reflectevo_bench.harness.response_cache import ResponseCache, request_key


def test_cut_last_line_is_dropped_and_appends_start_clean(tmp_path):
    writer = SampleWriter(tmp_path)
    writer.write({"task": "t", "doc_id": 0, "x": 1})
    writer.close()
    path = samples_path(tmp_path, "t")
    with open(path, "a") as fh:
        fh.write('{"task": "t", "doc_id": 1, "x"')  # a kill mid-write
    assert [r["doc_id"] for r in read_records(tmp_path)["t"]] == [0]
    writer = SampleWriter(tmp_path)
    writer.write({"task": "t", "doc_id": 1, "x": 2})
    writer.close()
    assert [json.loads(line)["doc_id"] for line in path.read_text().splitlines()] == [0, 1]


def test_duplicate_docs_are_reported(tmp_path):
    path = samples_path(tmp_path, "t")
    path.write_text('{"task": "t", "doc_id": 0}\n{"task": "t", "doc_id": 0}\n')
    with pytest.raises(BenchError, match="twice"):
        read_records(tmp_path)


def test_cache_hook_files_responses_under_our_key_and_reloads(tmp_path):
    path = tmp_path / "cache.jsonl"
    cache = ResponseCache(path)
    key = request_key("ctx", {"max_gen_toks": 4})
    cache.expect("ctx", key)
    seen = []
    cache.listener = lambda k, text: seen.append((k, text))
    cache.add_partial("generate_until", ("ctx", {"until": ["x"]}), "reply")  # kwargs as the LM mutated them
    cache.add_partial("loglikelihood", ("ctx", "c"), (0.0, True))  # other request types are ignored
    cache.close()
    assert seen == [(key, "reply")]
    with open(path, "a") as fh:
        fh.write('{"key": "abc", "resp')  # cut short
    again = ResponseCache(path)
    assert again.get(key) == "reply" and again.get("abc") is None
    again.put("k2", "second")
    again.close()
    assert ResponseCache(path).get("k2") == "second"
