"""Generation settings of a run, read from its records, and the check that compared runs share them.

Per task, from the attempt-1 turn of the first doc (the kwargs the backend really got): ``max_tokens``
(``max_gen_toks``), ``sampling`` (``do_sample``), ``temperature`` and ``top_p`` (only while sampling: greedy
ignores them). Per run: ``feedback_mode`` and ``chat_template``, a fingerprint of how the chat was rendered (the
attempt-1 prompt with every message's text cut out, hashed, digits folded: the same template gives the same fingerprint
on any doc and any day; ``api`` when the server renders it). A snapshot carries the settings of the run it was made from.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

GEN_KEYS = ("max_tokens", "sampling", "temperature", "top_p")


def _skeleton(prompt: Any, messages: list[dict[str, Any]]) -> str | None:
    if not isinstance(prompt, str):
        return "api"
    rest, parts = prompt, []
    for msg in messages:
        content = str(msg.get("content", ""))
        at = rest.find(content) if content else -1
        if at < 0:
            continue
        parts.append(rest[:at])
        rest = rest[at + len(content) :]
    parts.append(rest)
    skeleton = re.sub(r"\d+", "0", "\x00".join(parts))  # templates that print today's date stay one template
    return hashlib.sha256(skeleton.encode("utf-8")).hexdigest()[:10]


def task_settings(gen_kwargs: dict[str, Any]) -> dict[str, Any]:
    sampling = bool(gen_kwargs.get("do_sample", False))
    return {
        "max_tokens": gen_kwargs.get("max_gen_toks"),
        "sampling": sampling,
        "temperature": gen_kwargs.get("temperature") if sampling else None,
        "top_p": gen_kwargs.get("top_p") if sampling else None,
    }


def run_settings(records: dict[str, list[dict[str, Any]]], feedback_mode: str) -> dict[str, Any]:
    tasks, template = {}, None
    for task, recs in sorted(records.items()):
        first = next((t for r in recs[:1] for t in r["turns"] if t["kind"] == "attempt" and t["round"] == 1), None)
        if first is None:
            continue
        tasks[task] = task_settings(first.get("gen_kwargs") or {})
        if template is None:
            template = _skeleton(first.get("prompt"), first.get("messages") or [])
    return {"feedback_mode": feedback_mode, "chat_template": template, "tasks": tasks}


def _fmt(value: Any) -> str:
    return "?" if value is None else str(value)


def describe(settings: dict[str, Any] | None) -> str:
    """One line: the task settings (once when every task shares them), chat template and feedback mode."""
    if not settings:
        return "settings not recorded"
    per_task = settings.get("tasks") or {}
    distinct = {tuple(s.get(k) for k in GEN_KEYS) for s in per_task.values()}

    def gen(s: dict[str, Any]) -> str:
        how = (
            f"sampling T={_fmt(s.get('temperature'))}" + (f" top_p={s['top_p']}" if s.get("top_p") is not None else "")
            if s.get("sampling")
            else "greedy"
        )
        return f"max_tokens {_fmt(s.get('max_tokens'))}, {how}"

    if len(distinct) <= 1:
        body = gen(next(iter(per_task.values()))) if per_task else "gen settings ?"
    else:
        body = "; ".join(f"{t}: {gen(s)}" for t, s in per_task.items())
    return (
        f"{body}, chat template {_fmt(settings.get('chat_template'))}, feedback {_fmt(settings.get('feedback_mode'))}"
    )


def settings_mismatch(
    a: dict[str, Any] | None,
    b: dict[str, Any] | None,
    a_name: str,
    b_name: str,
    keys: tuple[str, ...] = ("feedback_mode", "chat_template"),
) -> str | None:
    """The first generation setting that differs (``None`` when they agree; unknown settings are not compared)."""
    if not a or not b:
        return None
    for key in keys:
        va, vb = a.get(key), b.get(key)
        if va is not None and vb is not None and va != vb:
            return f"{key.replace('_', ' ')} differs: {va} ({a_name}) vs {vb} ({b_name})"
    ta, tb = a.get("tasks") or {}, b.get("tasks") or {}
    for task in sorted(set(ta) & set(tb)):
        for key in GEN_KEYS:
            va, vb = ta[task].get(key), tb[task].get(key)
            if va != vb:
                return f"{key} differs on {task}: {_fmt(va)} ({a_name}) vs {_fmt(vb)} ({b_name})"
    return None
