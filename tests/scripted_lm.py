"""A deterministic lm-eval LM for protocol tests: it answers from each doc's script in the toy dataset.

Its chat template renders the messages as JSON, so every reply can be traced to the exact conversation sent.
Every generate_until call is logged, which lets tests check phase batching.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

SCRIPTS = {
    r["id"]: r
    for r in map(
        json.loads, (Path(__file__).parent / "fixtures" / "toy" / "toy_scripted.jsonl").read_text().splitlines()
    )
}
REFLECTION_MARKERS = ("Reflect on your previous answer", "Review your previous answer")


def _is_reflection_request(text: str) -> bool:
    return any(marker in text for marker in REFLECTION_MARKERS)


class _ScriptedBase(LM):
    calls: list[list[list[dict]]] = []
    prefix = ""

    def __init__(self, **kwargs) -> None:
        super().__init__()

    def apply_chat_template(self, chat_history, add_generation_prompt=True) -> str:
        return json.dumps(chat_history)

    def reply(self, messages: list[dict]) -> str:
        doc_id = int(re.match(r"Doc (\d+)", messages[0]["content"]).group(1))
        script = SCRIPTS[doc_id]
        users = [m["content"] for m in messages if m["role"] == "user"]
        if _is_reflection_request(users[-1]):
            return self.prefix + script["reflections"][sum(map(_is_reflection_request, users)) - 1]
        return script["attempts"][sum(not _is_reflection_request(u) for u in users) - 1]

    def generate_until(self, requests, disable_tqdm: bool = False):
        conversations = [json.loads(req.args[0]) for req in requests]
        type(self).calls.append(conversations)
        out = []
        for req, messages in zip(requests, conversations):
            text = self.reply(messages)
            self.cache_hook.add_partial("generate_until", req.args, text)
            out.append(text)
        return out

    def loglikelihood(self, requests):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests):
        raise NotImplementedError


@register_model("scripted-test")
class ScriptedLM(_ScriptedBase):
    calls: list = []


@register_model("scripted-reflector")
class ScriptedReflector(_ScriptedBase):
    calls: list = []
    prefix = "REFLECTOR:"


@register_model("scripted-branch")
class ScriptedBranchLM(_ScriptedBase):
    """Attempt 1 as scripted; every reflection is ``B<n>`` with n counting reflections written so far (so the
    branches of one doc differ); a retry is right exactly when the reflection in its context has an even n."""

    calls: list = []
    written = 0

    def reply(self, messages: list[dict]) -> str:
        users = [m["content"] for m in messages if m["role"] == "user"]
        if len(users) == 1:
            return super().reply(messages)
        if "Now solve the problem again" not in users[-1]:  # any reflection request, pool-drawn ones included
            type(self).written += 1
            return f"B{type(self).written}"
        doc_id = int(re.match(r"Doc (\d+)", messages[0]["content"]).group(1))
        reflection = int(messages[-2]["content"][1:])
        return SCRIPTS[doc_id]["answer"] if reflection % 2 == 0 else "0"


@register_model("scripted-judge")
class ScriptedJudge(_ScriptedBase):
    """Prefers the reflection with the larger number (``B<n>``), whichever side it is shown on; with
    ``biased=1`` it always answers A (a position-biased judge)."""

    calls: list = []

    def __init__(self, biased: str = "0", **kwargs) -> None:
        super().__init__()
        self.biased = str(biased) in ("1", "True")

    def reply(self, messages: list[dict]) -> str:
        if self.biased:
            return "Better: A"
        text = messages[-1]["content"]
        a = int(re.search(r"## Reflection A\nB(\d+)", text).group(1))
        b = int(re.search(r"## Reflection B\nB(\d+)", text).group(1))
        return "Both are fine.\nBetter: " + ("A" if a > b else "B")
