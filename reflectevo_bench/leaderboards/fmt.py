"""Number formatting shared by the Markdown, HTML and gate output, so every report shows the same digits.

Accuracies are stored as fractions (0–1) and shown as percentage points with one decimal; differences carry
a sign (``+2.6``, ``−1.1`` with a real minus sign). :func:`parse_number` reads them back.
"""

from __future__ import annotations

from typing import Any

MINUS = "\u2212"


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def signed(x: float) -> str:
    text = f"{100 * x:+.1f}"
    if text in ("-0.0", "+0.0"):
        return "+0.0"
    return text.replace("-", MINUS)


def ci(bounds: list[float] | tuple[float, float], sign: bool = False) -> str:
    f = signed if sign else pct
    return f"[{f(bounds[0])}, {f(bounds[1])}]"


def pvalue(p: float) -> str:
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


def parse_number(text: str) -> float:
    """Inverse of pct/signed: ``'−1.1'`` → -1.1."""
    return float(text.strip().replace(MINUS, "-").lstrip("+"))


def comparison_line(
    role_a: str, label_a: str, role_b: str, label_b: str, metric: str, r: dict[str, Any], alpha: float
) -> str:
    """'candidate X acc@t2 67.0 vs reference Y 64.4: +2.6 [−1.1, +6.3], not significant (…)'."""
    verdict = "significant" if r["significant"] else "not significant"
    return (
        f"{role_a} {label_a} {metric} {pct(r['acc_a'])} vs {role_b} {label_b} {pct(r['acc_b'])}: "
        f"{signed(r['diff'])} {ci(r['diff_ci95'], sign=True)}, {verdict} "
        f"(exact McNemar p = {pvalue(r['mcnemar_p'])}, α = {alpha:g}; {r['a_only']} docs right only for "
        f"{role_a}, {r['b_only']} only for {role_b}; n = {r['n']})"
    )
