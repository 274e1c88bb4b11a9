"""Leaderboards and the CI regression gate, derived only from run records (no model calls).

load → compat (can two runs be compared?) → compare (paired statistics) → board (leaderboard.json) →
report_md / report_html + plots; snapshot (baseline file) and gate (exit 0/1/2); cli (the `leaderboard` group).
"""
