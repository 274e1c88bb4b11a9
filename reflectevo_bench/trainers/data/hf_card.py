"""The Hugging Face dataset card (``README.md``) written beside ``card.json`` in every data dir: YAML front matter
with the configs and splits (so ``datasets.load_dataset(DIR)`` and the Hub read the right files), what the kind
is, the source runs and the counts."""

from __future__ import annotations

from typing import Any

import yaml

KIND_TEXT = {
    "dplus": "ReflectEvo D+ (SFT): the prompt of the reflection turn → the reflection and the retry that passed "
    "(assistant turns trained, the retry request between them not).",
    "dplus-oneturn": "D+ in one turn (SFT): the failed attempt's chat → one reply holding the reflection and the "
    "new answer that passed.",
    "reflection": "Reflections alone (SFT): the reflection-turn prompt → a reflection whose retry passed (stage 1 "
    "of the two-stage recipe).",
    "correction": "Corrections alone (SFT): the retry prompt with its reflection → the retry that passed (stage 2 "
    "of the two-stage recipe).",
    "qa": "Question answering (SFT): the attempt-1 prompt → the task's gold answer, kept only where the task's "
    "verifier accepts it.",
    "dpm": "ReflectEvo D± (DPO): the reflection-turn prompt, a reflection whose retry passed (chosen) and one whose "
    "retry failed (rejected).",
    "dpref": "ReflectEvo Dpref (DPO): two reflections that both led to a passing retry, ranked by a judge model.",
    "failures": "Failures (GRPO, RRR): the reflection-turn prompt of each doc that failed attempt 1, with what "
    "the rollout needs to verify a retry (task, doc, feedback).",
}


def front_matter(meta: dict[str, Any]) -> list[str]:
    """The lines that open a Hugging Face card: its metadata as YAML between ``---`` lines, then a blank line."""
    return ["---", yaml.safe_dump(meta, sort_keys=False).strip(), "---", ""]


def dataset_card(card: dict[str, Any]) -> str:
    kind = card.get("kind", "?")
    rows = card.get("rows") or {}
    files = [{"split": "train", "path": "train.jsonl"}]
    if rows.get("eval"):
        files.append({"split": "eval", "path": "eval.jsonl"})
    meta = {
        "pretty_name": f"reflectevo-bench {kind}",
        "tags": ["reflectevo-bench", "self-reflection", kind],
        "configs": [{"config_name": "default", "data_files": files}],
    }
    docs = card.get("docs") or {}
    lines = [
        *front_matter(meta),
        f"# reflectevo-bench `{kind}` data",
        "",
        KIND_TEXT.get(kind, f"Rows of kind {kind}."),
        "",
        "Built by `reflectevo-bench data build` from run records; every prompt is a recorded `messages` list "
        "(the exact state a turn was generated from). `card.json` beside this file holds the full provenance.",
        "",
        "## Counts",
        "",
        "| split | rows | docs |",
        "|---|--:|--:|",
        f"| train | {rows.get('train', 0)} | {docs.get('train', '')} |",
        f"| eval | {rows.get('eval', 0)} | {docs.get('eval', '')} |",
        "",
        f"Split by {card.get('split_by', 'doc')} (eval fraction {card.get('eval_fraction')}, seed {card.get('seed')}); "
        f"tasks: {', '.join(card.get('tasks') or []) or 'none'}.",
        "",
        "## Source runs",
        "",
    ]
    runs = card.get("source_runs") or []
    if not runs:
        lines.append("None recorded (rows imported from a released set: see `command` in card.json).")
    for run in runs:
        lines.append(
            f"- `{run.get('id')}`: model {run.get('model')} ({run.get('model_args')}), protocol "
            f"{run.get('protocol')}, tasks {', '.join(run.get('tasks') or [])}"
        )
    if card.get("content_hash"):
        lines += ["", f"Content hash (sha256 of the rows): `{card['content_hash']}`"]
    if card.get("command"):
        lines += ["", "Made with:", "", "    " + " ".join(str(c) for c in card["command"])]
    return "\n".join(lines) + "\n"
