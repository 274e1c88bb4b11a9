"""``resample`` (compute-matched control): wrong docs get a fresh sample of the attempt-1 prompt, with no feedback
and no reflection in context (needs sampling); the oracle only picks which docs go again."""

from reflectevo_bench.harness.protocols.base import Protocol

PROTOCOL = Protocol(
    "resample",
    "oracle",
    fresh_context=True,
    needs_sampling=True,
    help="wrong docs get a fresh sample of the attempt-1 prompt (needs sampling)",
)
