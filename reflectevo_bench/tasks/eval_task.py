"""One task as the protocol engine sees it: docs, the attempt-1 chat, generation kwargs and a verifier."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reflectevo_bench.defaults import FEWSHOT_AS_MULTITURN, FEWSHOT_SEED  # lm-eval's defaults
from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.guard import guarded_many
from reflectevo_bench.tasks.lmeval_verifier import LmEvalVerifier
from reflectevo_bench.tasks.reflection_config import (
    ReflectionConfig,
    callable_ref,
    check_named_once,
    resolve_callable,
)
from reflectevo_bench.tasks.verdict import Verdict, check_verifier, prepare_verifier


def doc_hash(doc: dict[str, Any]) -> str:
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


@dataclass
class EvalTask:
    name: str
    task: Any  # lm_eval ConfigurableTask
    reflection: ReflectionConfig
    verify: Callable[[dict, str], Verdict]
    verifier_name: str
    docs: list[dict] = field(default_factory=list)
    split: str | None = None  # the dataset split the docs come from
    fewshot_as_multiturn: bool = FEWSHOT_AS_MULTITURN
    _fewshot: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_lm_eval(cls, name: str, task: Any, limit: int | None = None, split: str | None = None) -> EvalTask:
        if getattr(task, "OUTPUT_TYPE", None) != "generate_until":
            raise BenchError(
                f"task '{name}' has output_type '{getattr(task, 'OUTPUT_TYPE', None)}'; reflection protocols need "
                "generative tasks (output_type: generate_until)"
            )
        metadata = task.config.metadata or {}
        reflection = ReflectionConfig.from_metadata(name, metadata)
        if reflection.verifier:
            verify = resolve_callable(name, reflection.verifier, metadata.get("config_source"))
            verifier_name = reflection.verifier
            check_named_once(
                name, verify, reflection.verifier, task.config.process_results, metadata.get("config_source")
            )
        elif callable(getattr(task.config.process_results, "verifier", None)):  # verdict.process_results_from
            verify, verifier_name = callable_ref(task.config.process_results.verifier, metadata.get("config_source"))
        else:
            verify = LmEvalVerifier(task, reflection.metric, reflection.filter)
            verifier_name = verify.name
        verify = check_verifier(verify, f"task '{name}'")
        task.set_fewshot_seed(seed=FEWSHOT_SEED)
        split, docs = split_docs(name, task, split)
        if limit is not None:
            docs = docs[: max(0, int(limit))]
        return cls(name, task, reflection, verify, verifier_name, docs, split)

    def fewshot_plan(self) -> Any:
        """Exemplars per doc id, as stock lm-eval draws them (``tasks.common.fewshot``): resume- and order-safe."""
        from reflectevo_bench.tasks.common.fewshot import FewshotPlan

        if self._fewshot is None or self._fewshot.docs is not self.docs:
            self._fewshot = FewshotPlan(self.task, self.docs, FEWSHOT_SEED)
        return self._fewshot

    @property
    def version(self) -> Any:
        return getattr(self.task, "VERSION", None)

    def generation_kwargs(self, defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        """The task's generation_kwargs, our defaults for keys it leaves out, then the user's overrides."""
        kwargs = dict(self.task.config.generation_kwargs or {})
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        kwargs.update(overrides)
        return kwargs

    def first_turn(
        self, doc: dict, render: Callable[..., Any], system_instruction: str | None = None
    ) -> tuple[list[dict[str, str]], Any]:
        """The attempt-1 messages and rendered prompt, built by lm-eval exactly as a stock chat run builds them.

        The prompt is whatever the LM's chat rendering returns: a string, or for chat APIs lm-eval's JsonChatStr.
        """
        captured: list[list[dict[str, str]]] = []

        def capture(messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
            captured.append([dict(m) for m in messages])
            return render(messages, add_generation_prompt=add_generation_prompt)

        task = self.task
        num_fewshot = 0 if task.config.num_fewshot is None else task.config.num_fewshot
        with self.fewshot_plan().pinned(doc, num_fewshot):
            prompt = task.fewshot_context(
                doc,
                num_fewshot=num_fewshot,
                system_instruction=system_instruction,
                apply_chat_template=True,
                fewshot_as_multiturn=self.fewshot_as_multiturn,
                chat_template=capture,
                gen_prefix=task.doc_to_prefix(doc),
            )
        if isinstance(prompt, list) or not captured:
            raise BenchError(f"task '{self.name}' builds multiple-input contexts, which protocols do not support")
        return captured[-1], prompt

    def prepare(self) -> None:
        """Get the verifier ready before a run generates (code tasks: start the sandbox pool, or fail in one line)."""
        prepare_verifier(self.verify)

    def verify_batch(self, docs: list[dict], responses: list[str]) -> list[Verdict]:
        """Verdicts for many responses at once: the verifier's batch form where it has one (``Verifier`` in
        ``tasks.verdict``; e.g. code tasks fan out over a sandbox pool), otherwise one call per response. Every
        verifier call of the harness goes through here, under ``tasks.guard``: a row the verifier cannot judge
        (exception, time or size budget) is wrong with reason ``verifier_error``, and the batch goes on."""
        return guarded_many(self.verify, docs, responses)

    def gold_response(self, doc: dict) -> str | None:
        """A response in the task's answer format that its verifier should accept: the task's
        ``gold_response`` hook, else the target as text (``data build --kind qa`` keeps only verified ones)."""
        hook = self.reflection.gold_response
        if hook:
            fn = resolve_callable(self.name, hook, (self.task.config.metadata or {}).get("config_source"))
            return str(fn(doc))
        target = self.target(doc)
        if isinstance(target, list):
            target = target[0] if target else None
        return None if target is None else str(target)

    def target(self, doc: dict) -> Any:
        try:
            return self.task.doc_to_target(doc)
        except Exception:  # a target is informative only; the verifier decides
            return None

    def raw_to_docs(self, rows: list[dict]) -> list[dict]:
        """Turn raw dataset rows (the dataset's own schema) into docs, through the task's process_docs.

        Rows go through one at a time: a Dataset built from many rows would merge their nested keys.
        """
        process = self.task.config.process_docs
        if not callable(process):
            return rows
        import datasets

        return [dict(process(datasets.Dataset.from_list([row]))[0]) for row in rows]


def task_splits(task: Any) -> list[str]:
    """The splits a task's YAML names (training/validation/test/fewshot) that its dataset really holds."""
    cfg = task.config
    named = [cfg.training_split, cfg.validation_split, cfg.test_split, getattr(cfg, "fewshot_split", None)]
    held = set(getattr(task, "dataset", None) or {})
    return list(dict.fromkeys(s for s in named if s and s in held))


def default_split(task: Any) -> str | None:
    if task.has_test_docs():
        return task.config.test_split
    if task.has_validation_docs():
        return task.config.validation_split
    return None


def split_docs(name: str, task: Any, split: str | None) -> tuple[str | None, list[dict]]:
    """(split, docs): the task's evaluation docs by default, or the docs of the split ``--split`` names, through
    the task's ``process_docs`` as lm-eval does for its own splits."""
    if split is None:
        return default_split(task), list(task.eval_docs)
    if split not in task_splits(task):
        splits = task_splits(task)
        raise BenchError(
            f"task '{name}' has no split '{split}': its YAML defines "
            f"{', '.join(splits) if splits else 'none that its dataset holds'}"
        )
    rows = task.dataset[split]
    process = task.config.process_docs
    return split, list(process(rows) if process is not None else rows)
