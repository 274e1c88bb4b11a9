"""`reflectevo-bench tasks show NAME`: one shipped task described from its YAML, plus an example prompt and the
feedback its verifier gives a wrong answer when the task loads (offline: generated tasks, or local data)."""

from __future__ import annotations

from typing import Any

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.tasks.catalog import DATA_SOURCES, TaskInfo, catalog

WRONG_ANSWER = "I am not sure. Answer: 0"


def _verifier_name(cfg: dict[str, Any]) -> str:
    reflection = (cfg.get("metadata") or {}).get("reflection") or {}
    if isinstance(reflection, dict) and reflection.get("verifier"):
        return str(reflection["verifier"])
    from reflectevo_bench.tasks.catalog import _hook_name

    hook = _hook_name(cfg.get("process_results"))
    return f"{hook} (process_results)" if hook else "lm-eval's filters and first metric"


def _example(info: TaskInfo, data_dir: str | None) -> list[str]:
    from reflectevo_bench.tasks.registry import load_eval_tasks

    try:
        task = load_eval_tasks(info.name, data_dir, 1)[0]
    except BenchError as exc:
        return [f"example: not available here ({one_line(exc, 300)})"]
    if not task.docs:
        return ["example: the test split has no docs"]
    doc = task.docs[0]
    messages, _ = task.first_turn(doc, lambda m, add_generation_prompt=True: "")
    lines = [f"verifier (loaded): {task.verifier_name}", "example prompt (doc 0):"]
    for m in messages:
        lines += [f"  [{m['role']}]"] + [f"    {line}" for line in str(m["content"]).splitlines()]
    try:
        verdict = task.verify_batch([doc], [WRONG_ANSWER])[0]
        lines.append(f"feedback on the wrong answer {WRONG_ANSWER!r}: {verdict.feedback or '(none)'}")
    except Exception as exc:  # e.g. a code task whose sandbox is not running here
        lines.append(f"feedback example: not available here ({one_line(exc, 200)})")
    return lines


def show_task(name: str, data_dir: str | None = None) -> str:
    infos = {i.name: i for i in catalog()}
    info = infos.get(name)
    if info is None:
        raise BenchError(f"unknown task '{name}': see `reflectevo-bench tasks list` (shipped tasks only)")
    cfg = info.config
    lines = [f"{info.name} ({info.kind}, family {info.family})", f"yaml: {info.yaml_path}"]
    if info.kind == "group":
        lines.append(f"tasks: {', '.join(info.members)}")
        lines.append(f"size: {info.size_text} test docs in all")
        return "\n".join(lines)
    if info.groups:
        lines.append(f"groups: {', '.join(info.groups)}")
    lines.append("splits: " + (", ".join(f"{role}={split}" for role, split in info.splits.items()) or "-"))
    lines.append(f"size: {info.size_text} test docs" + ("" if info.size is not None else " (unknown without loading)"))
    hub, local, note = DATA_SOURCES.get(info.hook or "", (None, None, ""))
    lines.append(f"data: {info.data}" + (f" ({note})" if note else ""))
    lines.append(f"data hook: {info.hook}")
    lines.append(f"verifier: {_verifier_name(cfg)}")
    answer_format = ((cfg.get("metadata") or {}).get("reflection") or {}).get("answer_format")
    if answer_format:
        lines.append(f"answer format: {answer_format}")
    gen = cfg.get("generation_kwargs") or {}
    if gen:
        lines.append("generation: " + ", ".join(f"{k}={v}" for k, v in gen.items()))
    readme = info.yaml_path.parent / "README.md"
    if readme.is_file():
        lines.append(f"readme: {readme}")
    lines += _example(info, data_dir)
    return "\n".join(lines)
