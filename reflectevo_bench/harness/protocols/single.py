"""``single``: one attempt (the lm-eval baseline)."""

from reflectevo_bench.harness.protocols.base import Protocol

PROTOCOL = Protocol("single", "none", min_attempts=1, max_attempts=1, help="one attempt, the lm-eval baseline")
