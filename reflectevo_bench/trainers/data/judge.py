"""Dpref's judge: a model (any lm-eval backend) picks the better of two reflections that both led to a pass.

Each pair is judged twice, with the reflections in both orders, in one batched call; a pair is kept only when
both orders agree (position bias shows up as disagreement, which the card counts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflectevo_bench.defaults import DEFAULT_BATCH_SIZE
from reflectevo_bench.errors import BenchError

DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "templates" / "judge_pref.txt"
VERDICT = re.compile(r"better\s*[:：]\s*\**\s*\(?([AB])\b", re.IGNORECASE)
FIELDS = ("{conversation}", "{reflection_a}", "{reflection_b}")


@dataclass
class Judge:
    model: str
    model_args: str | None
    template_path: Path = DEFAULT_TEMPLATE
    gen_kwargs: str | None = None

    def __post_init__(self) -> None:
        try:
            self.template = Path(self.template_path).read_text(encoding="utf-8")
        except OSError as exc:
            raise BenchError(f"--judge-template {self.template_path}: cannot read it ({exc.strerror})") from None
        missing = [f for f in FIELDS if f not in self.template]
        if missing:
            raise BenchError(f"--judge-template {self.template_path} lacks {', '.join(missing)}")

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_args": self.model_args,
            "template": str(self.template_path),
            "template_text": self.template,
            "gen_kwargs": self.gen_kwargs,
            "orders": "both, must agree",
        }

    def prefer(self, pairs: list[tuple[list[dict[str, str]], str, str]]) -> list[int | None]:
        """For each (conversation, reflection 1, reflection 2): 0 or 1 for the preferred one, None if the two
        orders disagree or a verdict is unreadable."""
        if not pairs:
            return []
        from reflectevo_bench.harness.gen_kwargs import parse_gen_kwargs
        from reflectevo_bench.harness.run import make_backend, resolve_model_args

        backend = make_backend(
            "judge", self.model, resolve_model_args(self.model, self.model_args, None), DEFAULT_BATCH_SIZE, None
        )
        kwargs = {"do_sample": False, "max_gen_toks": 256, "until": [], **parse_gen_kwargs(self.gen_kwargs)}
        requests, salts = [], []
        for i, (conversation, first, second) in enumerate(pairs):
            shown = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in conversation)
            for order, (a, b) in enumerate(((first, second), (second, first))):
                text = (
                    self.template.replace("{conversation}", shown)
                    .replace("{reflection_a}", a)
                    .replace("{reflection_b}", b)
                )
                requests.append((backend.render([{"role": "user", "content": text}]), kwargs))
                salts.append(f"judge/{i}/{order}")
        outs = backend.generate(requests, None, salts)
        picks: list[int | None] = []
        for i in range(len(pairs)):
            forward, backward = read_choice(outs[2 * i].text), read_choice(outs[2 * i + 1].text)
            if forward is None or backward is None or forward == backward:  # same letter = different reflection
                picks.append(None)
            else:
                picks.append(0 if forward == "A" else 1)
        return picks


def read_choice(text: str) -> str | None:
    found = VERDICT.findall(text or "")
    return found[-1].upper() if found else None
