"""Append-only cache of backend responses, filled as each batch returns (through lm-eval's cache hook).

A killed run loses at most the batch in flight: on resume every cached request is answered from disk.
Each response is flushed to the OS at once (that survives a kill of the process); ``sync`` — called after
every backend call — fsyncs the file, so a machine crash loses at most one phase's responses.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reflectevo_bench.harness.records import complete_lines


def request_key(context: Any, gen_kwargs: dict[str, Any], salt: str = "") -> str:
    """Cache key of one request. ``salt`` names the doc and phase, so that two requests with the same text
    (a duplicated doc, or a resample of the same prompt) never share one sampled response."""
    blob = json.dumps([context, gen_kwargs, salt], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _entry_problem(row: Any) -> str | None:
    if not isinstance(row, dict) or not isinstance(row.get("key"), str) or not isinstance(row.get("response"), str):
        return "is not a cache entry (it needs a string 'key' and a string 'response')"
    return None


class ResponseCache:
    """JSONL file of {key, response[, completion_tokens, completion_tokens_source]}; also an lm-eval ``CacheHook``
    (``add_partial``). ``meta`` holds the extra fields of each entry (the backend's own token count), so a resumed
    run records the same counts as an uninterrupted one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        self._pending: dict[str, list[str]] = {}
        self.listener: Callable[[str, str], None] | None = None  # (key, response) as each response arrives
        self.meta: dict[str, dict[str, Any]] = {}
        # (key, response) -> extra fields filed with the response as it arrives (Backend: the LM's own token count)
        self.meta_provider: Callable[[str, str], dict[str, Any] | None] | None = None
        self._fh = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                self._load(path)
            self._fh = open(path, "a", encoding="utf-8")

    def _load(self, path: Path) -> None:
        rows, good = complete_lines(path, _entry_problem)  # a line cut by a kill is dropped; corruption: one line
        for row in rows:
            self.entries[row["key"]] = row["response"]
            extra = {k: v for k, v in row.items() if k not in ("key", "response")}
            if extra:
                self.meta[row["key"]] = extra
        if good != path.stat().st_size:
            with open(path, "r+b") as fh:
                fh.truncate(good)

    def get(self, key: str) -> str | None:
        return self.entries.get(key)

    def expect(self, context: str, key: str) -> None:
        """Announce a request about to be sent, so the hook can file its response under our key."""
        self._pending.setdefault(context, []).append(key)

    def add_partial(self, attr: str, req: Any, res: Any) -> None:
        if attr != "generate_until":
            return
        context = req[0] if isinstance(req, (tuple, list)) else req
        keys = self._pending.get(context)
        if not keys:
            return
        key = keys.pop(0)
        self.put(key, res, self.meta_provider(key, res) if self.meta_provider is not None else None)
        if self.listener is not None:
            self.listener(key, res)

    def put(self, key: str, response: str, meta: dict[str, Any] | None = None) -> None:
        if key in self.entries:
            return
        self.entries[key] = response
        if meta:
            self.meta[key] = dict(meta)
        if self._fh is not None:
            row = {"key": key, "response": response, **(meta or {})}
            self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            self._fh.flush()

    def sync(self) -> None:
        if self._fh is not None:
            os.fsync(self._fh.fileno())

    def clear_pending(self) -> None:
        self._pending.clear()

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None
