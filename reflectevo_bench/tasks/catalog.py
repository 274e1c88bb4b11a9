"""What `tasks list` and `tasks show` print: each shipped task's family, groups, splits, size and data source, read
from the task YAMLs alone (nothing is downloaded or imported to list them)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflectevo_bench.tasks.generate_yamls import BBH_SUBTASKS
from reflectevo_bench.tasks.registry import TASKS_ROOT

SPLIT_KEYS = ("training_split", "validation_split", "test_split", "fewshot_split")

# Where each custom_dataset hook reads its rows: (family/module.function) -> (hub id or None, local file under
# --data-dir or None, note). Generated tasks need no data. A hook missing here shows "see its data.py".
DATA_SOURCES: dict[str, tuple[str | None, str | None, str]] = {
    "arith/generator.build_dataset": (None, None, "generated offline from fixed seeds"),
    "countdown/generator.build_dataset": (None, None, "generated offline from fixed seeds"),
    "reveal/generator.build_dataset": (None, None, "generated offline from fixed seeds"),
    "countdown/tinyzero.load_tinyzero": (
        "Jiayi-Pan/Countdown-Tasks-3to4",
        "countdown/countdown_tasks_3to4.jsonl",
        "cut into train/test by a seeded hash",
    ),
    "bbh/data.load": ("lukaemon/bbh", "bbh/<task>.json", "few-shot exemplars only from --data-dir (bbh/cot-prompts)"),
    "bigbench/data.load": ("hails/bigbench", "bigbench/<task>/task.json", ""),
    "bigbench/data.load_reflectevo": (
        None,
        "reflectevo/bigbench_test.jsonl",
        "ReflectEvo's 500 items; train from hails/bigbench",
    ),
    "function_calling/data.load_bfcl": (
        "gorilla-llm/Berkeley-Function-Calling-Leaderboard",
        "bfcl/BFCL_v4_<file>.json",
        "or an installed bfcl-eval",
    ),
    "function_calling/data.load_xlam": (
        "Salesforce/xlam-function-calling-60k",
        "xlam/xlam_function_calling_60k.json",
        "gated on the hub; cut into train/test by a seeded hash",
    ),
    "gsm8k/data.load": ("openai/gsm8k", "gsm8k/test.jsonl", ""),
    "hendrycks_math/data.load_math": ("EleutherAI/hendrycks_math", "MATH/test/<subject>/<n>.json", ""),
    "hendrycks_math/data.load_math500": ("HuggingFaceH4/MATH-500", "math/test.jsonl", ""),
    "hendrycks_math/data.load_reflectevo": (
        None,
        "reflectevo/math_test.jsonl",
        "ReflectEvo's 500 problems; train from EleutherAI/hendrycks_math",
    ),
    "humaneval/data.load": ("openai/openai_humaneval", "humaneval/HumanEval.jsonl.gz", ""),
    "logiqa/data.load_logiqa": ("lucasmccabe/logiqa", "logiqa/test.jsonl", ""),
    "logiqa/data.load_reflectevo": (
        None,
        "reflectevo/logiqa_test.jsonl",
        "ReflectEvo's 500 items; train from lucasmccabe/logiqa",
    ),
    "mbpp/data.load_test": ("google-research-datasets/mbpp", "mbpp/mbpp.jsonl", "task_ids 11-510"),
    "mbpp/data.load_full": ("google-research-datasets/mbpp", "mbpp/mbpp.jsonl", "all 974 problems"),
    "mbpp/data.load_sanitized": ("google-research-datasets/mbpp", "mbpp/sanitized-mbpp.json", "config sanitized"),
    "mbpp/data.load_reflectevo": (
        "google-research-datasets/mbpp",
        "reflectevo/mbpp_test.jsonl",
        "the hub's test split stands in without --data-dir",
    ),
}

# Test-split sizes as published (checked against the shared data where it is present); generated tasks take theirs
# from metadata.num_examples. Unknown sizes print as "?".
KNOWN_SIZES: dict[str, int] = {
    "gsm8k": 1319,
    "math": 5000,
    "math500": 500,
    "math_reflectevo": 500,
    "humaneval": 164,
    "logiqa": 651,
    "logiqa_reflectevo": 500,
    "mbpp": 500,
    "mbpp_full": 974,
    "mbpp_sanitized": 427,
    "mbpp_reflectevo": 500,
    "bigbench_reflectevo": 500,
    "countdown_tinyzero": 15000,
    "xlam_fc": 12000,
    # BBH: 250 docs a subtask but three
    **{
        f"bbh_{t}": {"causal_judgement": 187, "penguins_in_a_table": 146, "snarks": 178}.get(t, 250)
        for t in BBH_SUBTASKS
    },
    "bfcl_simple": 400,
    "bfcl_multiple": 200,
    "bfcl_parallel": 200,
    "bfcl_parallel_multiple": 200,
    "bfcl_live_simple": 258,
    "bfcl_live_multiple": 1053,
    "bfcl_irrelevance": 240,  # BFCL v4 (bfcl-eval) files
}


@dataclass
class TaskInfo:
    name: str
    family: str  # the folder under reflectevo_bench/tasks
    yaml_path: Path
    kind: str = "task"  # task | group
    members: list[str] = field(default_factory=list)  # a group's tasks
    groups: list[str] = field(default_factory=list)  # the groups a task belongs to
    splits: dict[str, str] = field(default_factory=dict)  # role (test, train, ...) -> split name
    size: int | None = None  # test docs, where known without loading
    hook: str | None = None  # family/module.function of the custom_dataset hook
    config: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def data(self) -> str:
        """hub id / local file / generated, in one cell."""
        if self.kind == "group":
            return f"{len(self.members)} tasks"
        hub, local, note = DATA_SOURCES.get(self.hook or "", (None, None, "see its data.py"))
        if hub is None and local is None:
            return "generated"
        parts = ([f"hub {hub}"] if hub else []) + ([f"--data-dir {local}"] if local else [])
        return " or ".join(parts)

    @property
    def note(self) -> str:
        return DATA_SOURCES.get(self.hook or "", (None, None, ""))[2]

    @property
    def size_text(self) -> str:
        return "?" if self.size is None else str(self.size)

    @property
    def splits_text(self) -> str:
        return ", ".join(dict.fromkeys(self.splits.values())) or "-"


def _hook_name(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    module, _, function = value.rpartition(".")
    try:
        rel = Path(module).resolve().relative_to(TASKS_ROOT)
    except ValueError:
        return value
    return f"{rel.as_posix()}.{function}"


def catalog() -> list[TaskInfo]:
    """Every task and group that ships with reflectevo-bench, sorted by name (``_`` templates are not tasks)."""
    from reflectevo_bench.tasks.lmeval_api import load_yaml_unresolved

    infos: dict[str, TaskInfo] = {}
    for path in sorted(TASKS_ROOT.rglob("*.yaml")):
        if path.name.startswith("_"):
            continue
        cfg = load_yaml_unresolved(path)
        family = path.parent.relative_to(TASKS_ROOT).as_posix()
        if isinstance(cfg.get("group"), str):
            members = [t for t in cfg.get("task", []) if isinstance(t, str)]
            infos[cfg["group"]] = TaskInfo(cfg["group"], family, path, "group", members, config=cfg)
        elif isinstance(cfg.get("task"), str):
            meta = cfg.get("metadata") or {}
            splits = {k.removesuffix("_split"): cfg[k] for k in SPLIT_KEYS if isinstance(cfg.get(k), str)}
            size = KNOWN_SIZES.get(cfg["task"])
            if size is None and isinstance(meta.get("num_examples"), int):
                size = meta["num_examples"]
            infos[cfg["task"]] = TaskInfo(
                cfg["task"],
                family,
                path,
                splits=splits,
                size=size,
                hook=_hook_name(cfg.get("custom_dataset")),
                config=cfg,
            )
    for info in infos.values():
        for member in info.members:
            if member in infos:
                infos[member].groups.append(info.name)
    for info in infos.values():
        if info.kind == "group":
            sizes = [infos[m].size for m in info.members if m in infos]
            info.size = sum(sizes) if sizes and None not in sizes else None  # type: ignore[arg-type]
            info.splits = (
                {"test": "test"} if all(infos[m].splits.get("test") for m in info.members if m in infos) else {}
            )
    return sorted(infos.values(), key=lambda i: i.name)


def matches(info: TaskInfo, pattern: str | None) -> bool:
    """A glob (``bbh_*``) or a plain substring of the name, family or group (case-insensitive)."""
    if not pattern:
        return True
    pattern = pattern.lower()
    fields = [info.name, info.family, *info.groups]
    if any(ch in pattern for ch in "*?["):
        return any(fnmatch.fnmatchcase(f.lower(), pattern) for f in fields)
    return any(pattern in f.lower() for f in fields)


LIST_HEADER = ["task", "family / group", "splits", "size", "data needed"]


def list_rows(infos: list[TaskInfo]) -> list[list[str]]:
    return [
        [
            i.name + (" (group)" if i.kind == "group" else ""),
            i.family + (f" / {', '.join(i.groups)}" if i.groups else ""),
            i.splits_text,
            i.size_text,
            i.data,
        ]
        for i in infos
    ]


def markdown(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "|" + "|".join(c.replace("|", "\\|") for c in cells) + "|"

    align = ["--:" if h == "size" else "---" for h in header]
    return "\n".join([line(header), line(align), *(line(r) for r in rows)])
