"""Append-only cache of backend responses, filled as each batch returns (through lm-eval's cache hook).

A killed run loses at most the batch in flight: on resume every cached request is answered from disk.
Each response is flushed to the OS at once (that survives a kill of the process); ``sync`` — called after
every backend call — fsyncs the file, so a machine crash loses at most one phase's responses.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable


def request_key(context: Any, gen_kwargs: dict[str, Any], salt: str = "") -> str:
    """Cache key of one request. ``salt`` names the doc and phase, so that two requests with the same text
    (a duplicated doc, or a resample of the same prompt) never share one sampled response."""
    blob = json.dumps([context, gen_kwargs, salt], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """JSONL file of {key, response}; also an lm-eval ``CacheHook`` (``add_partial``)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        self._pending: dict[str, list[str]] = {}
        self.listener: Callable[[str, str], None] | None = None  # (key, response) as each response arrives
        self._fh = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                self._load(path)
            self._fh = open(path, "a", encoding="utf-8")

    def _load(self, path: Path) -> None:
        with open(path, "rb") as fh:
            data = fh.read()
        good = 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break  # a line cut by a kill: drop it
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            self.entries[row["key"]] = row["response"]
            good += len(line)
        if good != len(data):
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
        self.put(key, res)
        if self.listener is not None:
            self.listener(key, res)

    def put(self, key: str, response: str) -> None:
        if key in self.entries:
            return
        self.entries[key] = response
        if self._fh is not None:
            self._fh.write(json.dumps({"key": key, "response": response}, ensure_ascii=False) + "\n")
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
