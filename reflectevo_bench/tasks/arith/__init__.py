"""Arith: seeded integer arithmetic problems with one to three operations; exact answers, directional feedback."""
