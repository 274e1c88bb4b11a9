"""Reveal prompt: short (the tiny model's context is cheap to train on)."""

from __future__ import annotations

from typing import Any


def doc_to_text(doc: dict[str, Any]) -> str:
    return f"Code {doc['code']}: which digit, 1-4?"


def gold_response(doc: dict[str, Any]) -> str:
    return str(doc["answer"])
