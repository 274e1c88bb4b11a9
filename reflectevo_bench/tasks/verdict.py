"""The task contract: the ``Verdict`` a verifier returns for one response, the ``Verifier`` protocol (with its
optional batch form), the check made where tasks load, and the one factory that turns a verifier into lm-eval's
``process_results``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from reflectevo_bench.errors import BenchError


@dataclass(frozen=True)
class Verdict:
    """Outcome of checking one response against one doc.

    ``feedback`` is what the next turn may show the model (oracle mode): it names what failed
    (a failing test, the value reached, the wrong function) and never reveals the gold answer.
    """

    correct: bool
    score: float
    feedback: str
    extracted: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            correct=bool(data["correct"]),
            score=float(data["score"]),
            feedback=str(data.get("feedback", "")),
            extracted=data.get("extracted"),
            details=dict(data.get("details") or {}),
        )


# ------------------------------------------------------------------------------------------------ the contract


@runtime_checkable
class Verifier(Protocol):
    """What a task's verifier is: a pure call ``(doc, response) -> Verdict``.

    ``doc`` is the processed dataset row (after the task's ``process_docs``), ``response`` the model's whole text.
    A verifier may also offer a batch form, ``verify_batch(docs, responses) -> list[Verdict]`` (same order), e.g.
    to fan code out over a sandbox pool; the harness then calls that once per phase. It may offer ``prepare()``,
    which the harness calls once before any generation so a verifier that cannot work here (no sandbox) fails the
    run at its start, in one line, instead of after the first phase. Untrusted code runs only in
    ``reflectevo_bench.sandbox``. ``feedback`` names what failed without revealing the gold answer.
    """

    def __call__(self, doc: dict[str, Any], response: str) -> Verdict: ...


class FunctionVerifier:
    """A verifier made of a function and, optionally, its batch form and what must be ready before a run starts:
    ``verify = FunctionVerifier(one, many, prepare=start_sandbox)``."""

    def __init__(
        self,
        one: Callable[[dict[str, Any], str], Verdict],
        many: Callable[[list[dict[str, Any]], list[str]], list[Verdict]] | None = None,
        prepare: Callable[[], Any] | None = None,
    ) -> None:
        self.one, self.many, self._prepare = one, many, prepare
        self.__name__ = getattr(one, "__name__", "verify")
        self.__doc__ = getattr(one, "__doc__", None)
        self.__module__ = getattr(one, "__module__", __name__)

    def __call__(self, doc: dict[str, Any], response: str) -> Verdict:
        return self.one(doc, response)

    def verify_batch(self, docs: list[dict[str, Any]], responses: list[str]) -> list[Verdict]:
        if self.many is None:
            return [self.one(d, r) for d, r in zip(docs, responses)]
        return list(self.many(docs, responses))

    def prepare(self) -> None:
        if self._prepare is not None:
            self._prepare()


def prepare_verifier(verifier: Any) -> None:
    """Call the verifier's ``prepare()`` where it has one (``Verifier``): raises ``BenchError`` when it cannot work."""
    prepare = getattr(verifier, "prepare", None)
    if callable(prepare):
        prepare()


def batch_form(verifier: Any) -> Callable[[list[dict[str, Any]], list[str]], list[Verdict]] | None:
    """The verifier's batch form: ``verify_batch``, else the older ``verify.batch`` function attribute (still read,
    so verifiers written that way keep working), else None."""
    for attr in ("verify_batch", "batch"):
        fn = getattr(verifier, attr, None)
        if callable(fn):
            return fn
    return None


def verify_many(verifier: Verifier, docs: list[dict[str, Any]], responses: list[str]) -> list[Verdict]:
    """Verdicts for many responses: one batch call where the verifier has a batch form, else one call each."""
    batch = batch_form(verifier)
    verdicts = list(batch(docs, responses)) if batch is not None else [verifier(d, r) for d, r in zip(docs, responses)]
    if len(verdicts) != len(docs):
        raise BenchError(f"verifier {_name(verifier)} returned {len(verdicts)} verdicts for {len(docs)} responses")
    return [_checked(verifier, v) for v in verdicts]


def check_verifier(verifier: Any, where: str) -> Verifier:
    """Refuse (one clear line) anything that is not a ``Verifier``: it must be callable as ``(doc, response)``."""
    if not callable(verifier):
        raise BenchError(
            f"{where}: verifier {_name(verifier)} is not callable; a verifier is (doc, response) -> Verdict"
        )
    try:
        signature = inspect.signature(verifier)
    except (TypeError, ValueError):
        return verifier  # builtins and C callables: trust them
    try:
        signature.bind({}, "")
    except TypeError:
        raise BenchError(
            f"{where}: verifier {_name(verifier)}{signature} cannot be called as (doc, response); "
            "a verifier is (doc, response) -> Verdict"
        ) from None
    return verifier


def _checked(verifier: Any, verdict: Any) -> Verdict:
    if not isinstance(verdict, Verdict):
        raise BenchError(f"verifier {_name(verifier)} returned {type(verdict).__name__}, not a Verdict")
    return verdict


def _name(verifier: Any) -> str:
    return getattr(verifier, "__qualname__", None) or getattr(verifier, "__name__", None) or repr(verifier)


def process_results_from(
    verifier: Verifier, extra: Callable[[Verdict], dict[str, float]] | None = None, metric: str = "exact_match"
) -> Callable[[dict[str, Any], list[str]], dict[str, float]]:
    """lm-eval's ``process_results`` for a task scored by ``verifier`` (``{metric: 0|1}``, ``exact_match`` unless
    the task's metric is named otherwise, e.g. ``pass@1``, plus ``extra``'s metrics), so stock lm-eval scores the
    task exactly as the harness does. The hook carries its verifier (``hook.verifier``): a YAML whose
    ``process_results`` is made here need not name the verifier again."""

    def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
        from reflectevo_bench.tasks.guard import guarded  # the same guard as the harness (no import cycle)

        verdict = guarded(verifier, doc, results[0])
        return {metric: int(verdict.correct), **(extra(verdict) if extra else {})}

    process_results.verifier = verifier  # type: ignore[attr-defined]
    process_results.__name__ = f"process_results_{getattr(verifier, '__name__', 'verify')}"
    return process_results
