"""``self-refine`` (intrinsic, no oracle): every doc reviews its answer without being told whether it was right,
then answers again; its run gives the leaderboard's intrinsic delta."""

from reflectevo_bench.harness.protocols.base import INTRINSIC_CONTROL, Protocol

PROTOCOL = Protocol(
    "self-refine",
    "none",
    reflects=True,
    stop_when_correct=False,
    template_keys=("self_refine_review", "self_refine_retry"),
    retry_key="self_refine_retry",
    control=INTRINSIC_CONTROL,
    help="every doc reviews its answer untold, then answers again (no oracle)",
)
