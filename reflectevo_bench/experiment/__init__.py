"""``reflectevo-bench experiment``: one declarative, resumable command from a base model to a leaderboard.

spec (parse and check the YAML) → graph (stages and their input hashes) → execute (run each stage once, resume
the unfinished one) → report (gate.json) · honesty (train/test separation) · status (the stage table) · cli.
"""
