"""Reveal: a positive control for the training chain, not a benchmark (see ``generator``)."""
