"""BIG-Bench Hard: 27 subtasks, chain-of-thought answers ending in "So the answer is X."."""
