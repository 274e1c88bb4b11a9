"""Few-shot exemplars as a function of the doc id, equal to the ones stock lm-eval draws.

Stock lm-eval draws each doc's exemplars from one ``random.Random(fewshot_random_seed)`` shared by all docs, in
doc-id order, so the exemplars of doc i depend on every draw before it. A harness that processes docs in another
order (chunks, ``--resume`` after a kill, shards) would draw others. Here the draws are replayed once, in doc-id
order over the task's docs, with lm-eval's own sampler and seed: doc i gets exactly the exemplars a stock
``simple_evaluate`` run gives it, whatever order docs are then processed in. A doc that is not one of the task's
docs (e.g. a raw row being scored) gets a draw seeded by its own hash.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reflectevo_bench.tasks.eval_task import doc_hash


class FewshotPlan:
    """Which exemplars each doc of ``docs`` gets for a given ``num_fewshot`` (computed lazily, cached)."""

    def __init__(self, task: Any, docs: list[dict[str, Any]], seed: int) -> None:
        self.task, self.docs, self.seed = task, docs, seed
        self._by_id = {id(d): i for i, d in enumerate(docs)}
        self._by_hash: dict[str, int] | None = None
        self._plans: dict[int, list[list[dict[str, Any]]]] = {}

    def _excluded(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """lm-eval keeps a doc out of its own exemplars only when exemplars come from the evaluation split."""
        task = self.task
        return doc if task.fewshot_cfg.split == task.config.test_split else None

    def index(self, doc: dict[str, Any]) -> int | None:
        if id(doc) in self._by_id:
            return self._by_id[id(doc)]
        if self._by_hash is None:
            self._by_hash = {}
            for i, d in enumerate(self.docs):
                self._by_hash.setdefault(doc_hash(d), i)
        return self._by_hash.get(doc_hash(doc))

    def exemplars(self, doc: dict[str, Any], n: int) -> list[dict[str, Any]]:
        sampler = self.task.sampler
        i = self.index(doc)
        saved = sampler.rnd
        try:
            if i is None:
                sampler.rnd = random.Random(f"{self.seed}:{doc_hash(doc)}")
                return list(sampler.sample(n=n, eval_doc=self._excluded(doc)))
            if n not in self._plans:
                sampler.rnd = random.Random(self.seed)  # what task.set_fewshot_seed(seed) gives a stock run
                self._plans[n] = [list(sampler.sample(n=n, eval_doc=self._excluded(d))) for d in self.docs]
            return self._plans[n][i]
        finally:
            sampler.rnd = saved

    @contextmanager
    def pinned(self, doc: dict[str, Any], n: int) -> Iterator[None]:
        """While building ``doc``'s context, the task's sampler returns ``doc``'s exemplars."""
        sampler = getattr(self.task, "sampler", None)
        if n <= 0 or sampler is None:
            yield
            return
        chosen = self.exemplars(doc, n)
        sampler.sample = lambda *args, **kwargs: list(chosen)
        try:
            yield
        finally:
            del sampler.sample
