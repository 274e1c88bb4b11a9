"""Safe parsing and exact evaluation of Countdown expressions (``ast``, never ``eval``)."""

from __future__ import annotations

import ast
from fractions import Fraction

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_TRANSLATE = str.maketrans({"×": "*", "x": "*", "X": "*", "÷": "/", "−": "-", "–": "-", "·": "*"})


class ExpressionError(ValueError):
    """The text is not an arithmetic expression over integers with + - * / and parentheses."""


def normalise(text: str) -> str:
    """Map typographic operators to ASCII and strip LaTeX/markdown wrappers models like to add."""
    text = text.strip().strip("`$").replace("\\times", "*").replace("\\div", "/").replace("\\cdot", "*")
    text = text.replace("\\left", "").replace("\\right", "").replace("\\(", "").replace("\\)", "")
    return text.translate(_TRANSLATE).strip().rstrip(".")


def parse(text: str) -> ast.Expression:
    try:
        tree = ast.parse(normalise(text), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression ({exc.msg})") from None
    _check(tree.body)
    return tree


def _check(node: ast.AST) -> None:
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _OPS:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed (use + - * /)")
        _check(node.left)
        _check(node.right)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, int) or isinstance(node.value, bool):
            raise ExpressionError(f"{node.value!r} is not a whole number")
    else:
        raise ExpressionError(f"'{ast.unparse(node)}' is not allowed (only numbers, + - * / and parentheses)")


def numbers_used(tree: ast.Expression) -> list[int]:
    return sorted(n.value for n in ast.walk(tree) if isinstance(n, ast.Constant))


def evaluate(tree: ast.Expression) -> Fraction:
    """Exact rational value; raises ZeroDivisionError on division by zero."""

    def ev(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant):
            return Fraction(node.value)
        assert isinstance(node, ast.BinOp)
        left, right = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        return left / right

    return ev(tree.body)
