"""``reflectevo-bench export``: a run's records in other tools' formats (lm-eval ``--log_samples``, Inspect AI logs)."""
