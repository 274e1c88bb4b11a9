"""An Inspect AI eval log per task (``OUT/<date>_<task>_<id>.eval``) that ``inspect view`` opens.

Each sample is one doc: its messages are the branch-1 conversation, turn by turn (attempt 1, the feedback and the
reflection request, the reflection, the retry request, the retry, ...; every message the model wrote carries
``metadata`` {kind, round, branch}); its scores are the verdicts, ``acc@t1`` … ``acc@tK`` as C/I with the
extracted answer and the verifier's feedback. Other branches (``run --reflections N``) are in the sample's
metadata.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.export.common import RunExport
from reflectevo_bench.harness.records import SampleRecord, branch_numbers, branch_turns


def _inspect():
    try:
        import inspect_ai.log as log
        import inspect_ai.model as model
        import inspect_ai.scorer as scorer
    except ImportError:
        raise BenchError("--format inspect needs inspect_ai: pip install inspect_ai (or the [dev] extra)") from None
    return log, model, scorer


def _message(model, msg: dict[str, Any], meta: dict[str, Any] | None = None):
    role, content = msg.get("role"), str(msg.get("content", ""))
    cls = {"system": model.ChatMessageSystem, "assistant": model.ChatMessageAssistant}.get(role, model.ChatMessageUser)
    return cls(content=content, metadata=meta)


def conversation(model, turns: list[dict[str, Any]]) -> list[Any]:
    """The turns as one chat: each turn adds the messages it was asked with that the chat does not hold yet, then
    the model's response."""
    chat: list[dict[str, Any]] = []
    out: list[Any] = []
    for turn in turns:
        asked = [{"role": m.get("role"), "content": m.get("content")} for m in turn.get("messages") or []]
        common = 0
        while common < min(len(chat), len(asked)) and chat[common] == asked[common]:
            common += 1
        for msg in asked[common:]:
            chat.append(msg)
            out.append(_message(model, msg))
        reply = {"role": "assistant", "content": str(turn.get("response", ""))}
        chat.append(reply)
        out.append(
            _message(model, reply, {"kind": turn["kind"], "round": turn["round"], "branch": turn.get("branch", 1)})
        )
    return out


def _scores(scorer, rec: SampleRecord) -> dict[str, Any]:
    attempts = {t["round"]: t for t in branch_turns(rec, 1) if t["kind"] == "attempt"}
    scores = {}
    for k, correct in enumerate(rec.get("correct_at") or [], 1):
        turn = attempts.get(k) or attempts.get(max((r for r in attempts if r <= k), default=1), {})
        verdict = turn.get("verdict") or {}
        answer = turn.get("extracted")
        scores[f"acc@t{k}"] = scorer.Score(
            value=scorer.CORRECT if correct else scorer.INCORRECT,
            answer=None if answer is None else str(answer),
            explanation=verdict.get("feedback") or None,
            metadata={"round": turn.get("round")},
        )
    return scores


def _sample(log, model, scorer, rec: SampleRecord, model_name: str):
    turns = branch_turns(rec, 1)
    messages = conversation(model, turns)
    first = next(t for t in turns if t["kind"] == "attempt" and t["round"] == 1)
    input_msgs = [_message(model, m) for m in first.get("messages") or []]
    last = turns[-1]
    other = {
        b: [
            {k: v for k, v in t.items() if k not in ("prompt", "timing")}
            for t in branch_turns(rec, b)
            if t["round"] > 1
        ]
        for b in branch_numbers(rec)
        if b != 1
    }
    usage = {}
    tokens_in = sum(t.get("prompt_tokens") or 0 for t in rec["turns"])
    tokens_out = sum(t.get("completion_tokens") or 0 for t in rec["turns"])
    usage[model_name] = model.ModelUsage(
        input_tokens=tokens_in, output_tokens=tokens_out, total_tokens=tokens_in + tokens_out
    )
    return log.EvalSample(
        id=rec["doc_id"],
        epoch=1,
        input=input_msgs or str(first.get("prompt", "")),
        target=str(rec.get("target")),
        messages=messages,
        output=model.ModelOutput.from_content(model_name, str(last.get("response", ""))),
        scores=_scores(scorer, rec),
        model_usage=usage,
        metadata={
            "task": rec["task"],
            "doc_hash": rec.get("doc_hash"),
            "protocol": rec.get("protocol"),
            "feedback_mode": rec.get("feedback_mode"),
            "correct_at": rec.get("correct_at"),
            **({"other_branches": {str(b): t for b, t in other.items()}} if other else {}),
        },
    )


def _results(log, recs: list[SampleRecord], attempts: int):
    n = len(recs)
    scores = []
    for k in range(1, attempts + 1):
        hits = sum(bool(r["correct_at"][k - 1]) for r in recs if len(r.get("correct_at") or []) >= k)
        acc = hits / n if n else 0.0
        stderr = (acc * (1 - acc) / (n - 1)) ** 0.5 if n > 1 else 0.0
        scores.append(
            log.EvalScore(
                name=f"acc@t{k}",
                scorer=f"acc@t{k}",
                scored_samples=n,
                metrics={
                    "accuracy": log.EvalMetric(name="accuracy", value=acc),
                    "stderr": log.EvalMetric(name="stderr", value=stderr),
                },
            )
        )
    return log.EvalResults(total_samples=n, completed_samples=n, scores=scores)


def export_inspect(run: RunExport, out: Path) -> list[Path]:
    log, model, scorer = _inspect()
    ident, env = run.identity, run.manifest.get("environment", {})
    created = run.date.isoformat()
    gen = ident.get("gen_kwargs") or {}
    config = model.GenerateConfig(
        max_tokens=gen.get("max_gen_toks"), temperature=gen.get("temperature"), seed=ident.get("seed")
    )
    model_name = f"{ident.get('model', 'hf')}/{Path(run.model_name.rstrip('/')).name or run.model_name}"
    written = []
    for task, recs in run.records.items():
        eval_id = hashlib.sha256(f"{run.path.resolve()}|{task}".encode()).hexdigest()[:22]
        spec = log.EvalSpec(
            eval_id=eval_id,
            run_id=eval_id,
            created=created,
            task=task,
            task_id=eval_id,
            task_version=(env.get("task_versions") or {}).get(task, 0) or 0,
            dataset=log.EvalDataset(name=task, samples=len(recs), sample_ids=[r["doc_id"] for r in recs]),
            model=model_name,
            model_generate_config=config,
            config=log.EvalConfig(),
            solver=f"reflectevo-bench {ident.get('protocol')}",
            metadata={
                "protocol": ident.get("protocol"),
                "attempts": ident.get("attempts"),
                "feedback_mode": env.get("feedback_mode"),
                "reflections": ident.get("reflections", 1),
                "gen_kwargs": gen,
                "model_args": ident.get("model_args"),
                "run_dir": str(run.path),
            },
        )
        samples = [_sample(log, model, scorer, r, model_name) for r in recs]
        ev = log.EvalLog(
            status="success",
            eval=spec,
            results=_results(log, recs, int(ident.get("attempts", 1))),
            stats=log.EvalStats(started_at=created, completed_at=created),
            samples=samples,
        )
        stamp = run.date.strftime("%Y-%m-%dT%H-%M-%S+00-00")
        path = out / f"{stamp}_{task.replace('/', '_')}_{eval_id}.eval"
        out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.eval")
        log.write_eval_log(ev, str(tmp))
        tmp.replace(path)
        written.append(path)
    return written
