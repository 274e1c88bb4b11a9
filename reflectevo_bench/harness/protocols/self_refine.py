"""``self-refine`` (intrinsic, no oracle): every doc reviews its answer without being told whether it was right,
then answers again; its run gives the leaderboard's intrinsic delta."""

from __future__ import annotations

from reflectevo_bench.harness.protocols.base import INTRINSIC_CONTROL, Protocol
from reflectevo_bench.tasks.verdict import Verdict


class SelfRefine(Protocol):
    def retry_request(self, prompter, last: Verdict) -> str:
        return prompter.fill("self_refine_retry")


PROTOCOL = SelfRefine(
    "self-refine",
    "none",
    reflects=True,
    stop_when_correct=False,
    template_keys=("self_refine_review", "self_refine_retry"),
    control=INTRINSIC_CONTROL,
    help="every doc reviews its answer untold, then answers again (no oracle)",
)
