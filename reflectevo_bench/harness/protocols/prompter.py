"""The Prompter fills a protocol's templates for one task: the defaults (protocols.yaml, then the protocol's own),
then the task's overrides; which template each turn uses is the protocol's choice."""

from __future__ import annotations

from reflectevo_bench.harness.protocols.base import Protocol, default_templates
from reflectevo_bench.tasks.verdict import Verdict


class Prompter:
    """Builds the user turns between attempts from templates (defaults, then the task's overrides)."""

    def __init__(self, protocol: Protocol, overrides: dict[str, str], answer_format: str) -> None:
        self.protocol = protocol
        self.templates = {**default_templates(), **protocol.templates, **overrides}
        self.answer_format = answer_format

    def fill(self, key: str, feedback: str = "", template: str | None = None) -> str:
        text = (template if template is not None else self.templates[key]).format(
            feedback=feedback, answer_format=self.answer_format
        )
        return "\n".join(line.rstrip() for line in text.strip().splitlines())

    _fill = fill  # the name other modules used before protocols became units

    def feedback(self, verdict: Verdict) -> str:
        head = self.templates["feedback_incorrect"]
        return f"{head}\n{verdict.feedback}".strip() if verdict.feedback else head

    def reflection_request(self, last: Verdict, template: str | None = None) -> str:
        return self.protocol.reflection_request(self, last, template)

    def reflect_answer_request(self, last: Verdict, template: str | None = None) -> str:
        return self.protocol.reflect_answer_request(self, last, template)

    def retry_request(self, last: Verdict) -> str:
        return self.protocol.retry_request(self, last)
