"""The protocol engine: every phase is one batched backend call over all pending docs of all tasks.

Docs are processed in chunks (one call per phase per chunk); a doc's record is written the moment it finishes,
so a crash loses at most the chunk's unfinished docs, and their already-returned responses sit in the cache.

With ``reflections`` N > 1 every doc that goes on after attempt 1 splits into N branches (lanes), each with its
own reflection and retries; the lanes of all docs share each phase's backend call, and the doc's record is
written once all its lanes have finished (the record shape is in :mod:`reflectevo_bench.harness.records`).

Attempts use the run's generation settings, reflections those plus ``reflection_gen_overrides`` (ReflectEvo:
greedy attempts, reflections sampled at T = 0.8); every turn records the settings it was generated with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reflectevo_bench.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_SEED
from reflectevo_bench.harness.backend import Backend
from reflectevo_bench.harness.protocols import ATTEMPT, REFLECT_ANSWER, REFLECTION, Prompter, Protocol, split_one_turn
from reflectevo_bench.harness.records import SampleRecord, Turn
from reflectevo_bench.harness.reflection_pool import ReflectionPool
from reflectevo_bench.tasks.eval_task import EvalTask, doc_hash
from reflectevo_bench.tasks.verdict import Verdict


@dataclass
class DocState:
    """One lane of a doc's conversation: the doc itself, or one of its reflection branches."""

    task: EvalTask
    doc_id: int
    doc: dict
    prompter: Prompter
    gen_kwargs: dict[str, Any]
    reflection_gen_kwargs: dict[str, Any] = field(default_factory=dict)
    branch: int = 1
    messages: list[dict[str, str]] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    owner: DocState | None = None  # the branch-1 lane, which holds the doc's lanes (None: this is it)
    lanes: list[DocState] = field(default_factory=list)  # on branch 1: every lane of the doc, itself first
    finished: int = 0  # on branch 1: lanes done
    samples: list[dict[str, Any]] | None = None  # run --samples K: every attempt-1 sample of the doc


@dataclass
class EngineConfig:
    protocol: Protocol
    attempts: int
    gen_defaults: dict[str, Any]
    gen_overrides: dict[str, Any]
    chunk_size: int = DEFAULT_CHUNK_SIZE
    system_instruction: str | None = None
    reflections: int = 1
    seed: int = DEFAULT_SEED
    pools: dict[str, ReflectionPool] = field(default_factory=dict)  # task name -> its reflection-request pool
    split: str | None = None
    samples: int = 1  # attempt-1 answers sampled per doc (failure mining); sample 1 drives the protocol
    reflection_gen_overrides: dict[str, Any] = field(default_factory=dict)  # over gen_overrides, reflections only
    reflection_instruction: str | None = None  # one pool entry for every doc instead of a per-doc draw


class Engine:
    def __init__(
        self,
        config: EngineConfig,
        generator: Backend,
        reflector: Backend | None,
        write: Callable[[SampleRecord], None],
        progress: Any = None,
    ) -> None:
        self.cfg = config
        self.generator = generator
        self.reflector = reflector or generator
        self.write = write
        self.progress = progress
        self._phases = {
            ATTEMPT: self._attempt_phase,
            REFLECTION: self._reflection_phase,
            REFLECT_ANSWER: self._one_turn_phase,
        }

    def run(self, pending: list[tuple[EvalTask, int]]) -> None:
        size = max(1, self.cfg.chunk_size)
        chunks = [pending[i : i + size] for i in range(0, len(pending), size)]
        for number, chunk in enumerate(chunks, 1):
            label = f" (chunk {number}/{len(chunks)})" if len(chunks) > 1 else ""
            if hasattr(self.progress, "start_chunk"):  # phases at most: attempt 1, then (reflection +) attempt k
                steps = 1 if self.cfg.protocol.one_turn or not self.cfg.protocol.reflects else 2
                self.progress.start_chunk(number, len(chunks), 1 + (self.cfg.attempts - 1) * steps)
            self._run_chunk(chunk, label)

    def _state(self, task: EvalTask, doc_id: int) -> DocState:
        prompter = Prompter(self.cfg.protocol, task.reflection.templates, task.reflection.answer_format)
        gen_kwargs = task.generation_kwargs(self.cfg.gen_defaults, self.cfg.gen_overrides)
        reflection_kwargs = task.generation_kwargs(
            self.cfg.gen_defaults, {**self.cfg.gen_overrides, **self.cfg.reflection_gen_overrides}
        )
        state = DocState(task, doc_id, task.docs[doc_id], prompter, gen_kwargs, reflection_kwargs)
        state.lanes = [state]
        return state

    def _run_chunk(self, chunk: list[tuple[EvalTask, int]], label: str) -> None:
        states = [self._state(task, doc_id) for task, doc_id in chunk]
        self._attempt_phase(states, 1, label)
        for k in range(2, self.cfg.attempts + 1):
            going = []
            for state in states:
                if self.cfg.protocol.continues(state.verdicts[-1]):
                    going.append(state)
                else:
                    self._finish(state)
            if k == 2 and self.cfg.reflections > 1:
                going = [lane for state in going for lane in self._branch(state)]
            states = going
            if not states:
                return
            for phase in self.cfg.protocol.phases:  # the protocol says what each later round is made of
                self._phases[phase](states, k, label)
        for state in states:
            self._finish(state)

    def _branch(self, state: DocState) -> list[DocState]:
        """Branches 2…N of a doc after attempt 1: each continues from the same conversation on its own."""
        for b in range(2, self.cfg.reflections + 1):
            state.lanes.append(
                DocState(
                    state.task,
                    state.doc_id,
                    state.doc,
                    state.prompter,
                    state.gen_kwargs,
                    state.reflection_gen_kwargs,
                    b,
                    list(state.messages),
                    [],
                    list(state.verdicts),
                    owner=state,
                )
            )
        return state.lanes

    def _generate(
        self,
        backend: Backend,
        phase: str,
        states: list[DocState],
        label: str,
        requests: list[tuple[list[dict[str, str]], str]],
        suffixes: list[str] | None = None,
        reflection: bool = False,
    ) -> list[Any]:
        if self.progress is not None:
            self.progress.start_phase(phase + label, len(states))
        advance = self.progress.advance if self.progress is not None else None
        salts = [f"{s.task.name}/{s.doc_id}/{phase}" + (f"/b{s.branch}" if s.branch > 1 else "") for s in states]
        if suffixes is not None:  # several samples of one request: each its own cache entry
            salts = [salt + suffix for salt, suffix in zip(salts, suffixes)]
        outs = backend.generate(
            [
                (prompt, s.reflection_gen_kwargs if reflection else s.gen_kwargs)
                for s, (_, prompt) in zip(states, requests)
            ],
            advance,
            salts,
        )
        if self.progress is not None:
            self.progress.end_phase()
        return outs

    def _turn(
        self,
        backend: Backend,
        kind: str,
        number: int,
        state: DocState,
        messages: list[dict[str, str]],
        prompt: Any,
        out: Any,
        prompt_tokens: int | None,
    ) -> Turn:
        gen_kwargs = state.reflection_gen_kwargs if kind == "reflection" else state.gen_kwargs
        return {
            "kind": kind,
            "round": number,
            "branch": state.branch,
            "model": "reflector" if backend is not self.generator else "generator",
            "messages": messages,
            "prompt": getattr(prompt, "prompt", prompt),  # chat APIs get lm-eval's JsonChatStr
            "gen_kwargs": gen_kwargs,
            "response": out.text,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": out.completion_tokens,
            "completion_tokens_source": out.completion_tokens_source,
            "timing": {"latency_s": round(out.latency_s, 6), "cached": out.cached},
        }

    def _attempt_phase(self, states: list[DocState], k: int, label: str) -> None:
        requests = []
        for state in states:
            retry = (
                None if k == 1 else self.cfg.protocol.retry_messages(state.prompter, state.messages, state.verdicts[-1])
            )
            if retry is None:  # attempt 1, or a protocol that starts every attempt afresh
                messages, prompt = state.task.first_turn(state.doc, self.generator.render, self.cfg.system_instruction)
            else:
                messages, prompt = retry, self.generator.render(retry)
            requests.append((messages, prompt))
        if k == 1 and self.cfg.samples > 1:
            self._sampled_first_attempts(states, requests, label)
            return
        outs = self._generate(self.generator, f"attempt {k}", states, label, requests)
        verdicts = self._verify(states, [out.text for out in outs])
        self._record_attempts(states, requests, outs, verdicts, k)

    def _sampled_first_attempts(self, states: list[DocState], requests: list[tuple[Any, Any]], label: str) -> None:
        """``run --samples K``: K attempt-1 answers per doc in ONE backend call (every doc's K requests side by
        side, so vLLM's prefix cache shares each prompt's prefill), all verified; sample 1 goes on through the
        protocol as an ordinary attempt 1, and all K are recorded in ``attempt_1_samples``."""
        K = self.cfg.samples
        many = [s for s in states for _ in range(K)]
        outs = self._generate(
            self.generator,
            "attempt 1",
            many,
            label,
            [r for r in requests for _ in range(K)],
            ["" if j == 0 else f"/s{j + 1}" for _ in states for j in range(K)],
        )
        verdicts = self._verify(many, [out.text for out in outs])
        for i, state in enumerate(states):
            state.samples = [
                {
                    "sample": j + 1,
                    "response": out.text,
                    "extracted": v.extracted,
                    "verdict": v.to_dict(),
                    "completion_tokens": out.completion_tokens,
                    "completion_tokens_source": out.completion_tokens_source,
                    "timing": {"latency_s": round(out.latency_s, 6), "cached": out.cached},
                }
                for j, (out, v) in enumerate(zip(outs[i * K : (i + 1) * K], verdicts[i * K : (i + 1) * K]))
            ]
        self._record_attempts(states, requests, outs[::K], verdicts[::K], 1)

    def _record_attempts(
        self, states: list[DocState], requests: list[tuple[Any, Any]], outs: list[Any], verdicts: list[Verdict], k: int
    ) -> None:
        prompt_tokens = self.generator.count_tokens_many([prompt for _, prompt in requests])
        for state, (messages, prompt), out, verdict, n in zip(states, requests, outs, verdicts, prompt_tokens):
            turn = self._turn(self.generator, "attempt", k, state, messages, prompt, out, n)
            turn["extracted"] = verdict.extracted
            turn["verdict"] = verdict.to_dict()
            state.turns.append(turn)
            state.verdicts.append(verdict)
            state.messages = with_reply(messages, out.text)

    @staticmethod
    def _verify(states: list[DocState], texts: list[str]) -> list[Verdict]:
        """One verifier batch per task, so code tasks can run their programs in parallel."""
        verdicts: list[Verdict | None] = [None] * len(states)
        by_task: dict[str, list[int]] = {}
        for i, state in enumerate(states):
            by_task.setdefault(state.task.name, []).append(i)
        for idx in by_task.values():
            task = states[idx[0]].task
            for i, verdict in zip(idx, task.verify_batch([states[i].doc for i in idx], [texts[i] for i in idx])):
                verdicts[i] = verdict
        return verdicts  # type: ignore[return-value]

    def _instruction(self, state: DocState) -> tuple[str | None, dict[str, Any] | None]:
        """(template, record) of this doc's reflection request: the fixed entry, a per-doc pool draw, or none."""
        pool = self.cfg.pools.get(state.task.name)
        if pool is None:
            return None, None
        if self.cfg.reflection_instruction is not None:
            drawn = pool.choose(self.cfg.protocol, self.cfg.reflection_instruction)
        else:
            drawn = pool.draw(self.cfg.protocol, self.cfg.seed, state.task.name, state.doc_id)
        if drawn is None:
            return None, None
        return drawn[1], {"pool": pool.source, "index": drawn[0], "name": pool.name_of(self.cfg.protocol, drawn[0])}

    def _one_turn_phase(self, states: list[DocState], k: int, label: str) -> None:
        """A one-turn round (``reflect-answer``): reflection + corrected answer in one generation (the Reflector's, with the
        reflection settings); the verifier reads only the part after the last ``New answer:`` line."""
        requests, instructions = [], []
        for state in states:
            template, instruction = self._instruction(state)
            instructions.append(instruction)
            messages = state.messages + [
                {"role": "user", "content": state.prompter.reflect_answer_request(state.verdicts[-1], template)}
            ]
            requests.append((messages, self.reflector.render(messages)))
        outs = self._generate(self.reflector, f"attempt {k}", states, label, requests, reflection=True)
        parts = [split_one_turn(out.text) for out in outs]
        verdicts = self._verify(
            states, [out.text if answer is None else answer for out, (_, answer) in zip(outs, parts)]
        )
        prompt_tokens = self.reflector.count_tokens_many([prompt for _, prompt in requests])
        for state, (messages, prompt), out, verdict, n, (reflection, answer), instruction in zip(
            states, requests, outs, verdicts, prompt_tokens, parts, instructions
        ):
            turn = self._turn(self.reflector, "attempt", k, state, messages, prompt, out, n)
            turn["gen_kwargs"] = state.reflection_gen_kwargs
            turn["one_turn"] = {"reflection": reflection, "answer": answer}
            if instruction is not None:
                turn["instruction"] = instruction
            turn["extracted"] = verdict.extracted
            turn["verdict"] = verdict.to_dict()
            state.turns.append(turn)
            state.verdicts.append(verdict)
            state.messages = with_reply(messages, out.text)

    def _reflection_phase(self, states: list[DocState], k: int, label: str) -> None:
        requests, instructions = [], []
        for state in states:
            template, instruction = self._instruction(state)
            instructions.append(instruction)
            request = state.prompter.reflection_request(state.verdicts[-1], template)
            messages = state.messages + [{"role": "user", "content": request}]
            requests.append((messages, self.reflector.render(messages)))
        outs = self._generate(self.reflector, f"reflection {k - 1}", states, label, requests, reflection=True)
        prompt_tokens = self.reflector.count_tokens_many([prompt for _, prompt in requests])
        for state, (messages, prompt), out, n, drawn in zip(states, requests, outs, prompt_tokens, instructions):
            turn = self._turn(self.reflector, "reflection", k, state, messages, prompt, out, n)
            if drawn is not None:
                turn["instruction"] = drawn
            state.turns.append(turn)
            state.messages = with_reply(messages, out.text)

    def _finish(self, lane: DocState) -> None:
        """Mark a lane done; the doc's record is written when its last lane is."""
        state = lane.owner or lane
        state.finished += 1
        if state.finished < len(state.lanes):
            return
        made = [v.correct for v in state.verdicts]
        record: SampleRecord = {
            "task": state.task.name,
            "doc_id": state.doc_id,
            "doc_hash": doc_hash(state.doc),
            "doc": state.doc,
            "target": state.task.target(state.doc),
            "split": self.cfg.split or state.task.split,
            "protocol": self.cfg.protocol.name,
            "feedback_mode": self.cfg.protocol.feedback_mode,
            "correct": made,
            "correct_at": self.cfg.protocol.correct_at(made, self.cfg.attempts),
            "turns": [turn for lane in state.lanes for turn in lane.turns],
        }
        if state.samples is not None:
            record["attempt_1_samples"] = state.samples
            record["attempt_1_passes"] = sum(bool(s["verdict"]["correct"]) for s in state.samples)
        self.write(record)


def with_reply(messages: list[dict[str, str]], text: str) -> list[dict[str, str]]:
    """The conversation after the model's reply (a gen_prefix assistant turn is continued, not repeated)."""
    if messages and messages[-1]["role"] == "assistant":
        return messages[:-1] + [{"role": "assistant", "content": messages[-1]["content"] + text}]
    return messages + [{"role": "assistant", "content": text}]
