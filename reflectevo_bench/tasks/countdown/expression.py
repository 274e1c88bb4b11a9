"""Safe parsing and exact evaluation of Countdown expressions (``ast``, never ``eval``)."""

from __future__ import annotations

import ast
from fractions import Fraction

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_TRANSLATE = str.maketrans({"×": "*", "x": "*", "X": "*", "÷": "/", "−": "-", "–": "-", "·": "*"})


MAX_CHARS = 200  # a Countdown answer uses a handful of numbers: longer text is not an answer
MAX_DEPTH = 40  # nesting of the parsed tree (operators and parentheses)


class ExpressionError(ValueError):
    """The text is not an arithmetic expression over integers with + - * / and parentheses."""


def normalise(text: str) -> str:
    """Map typographic operators to ASCII and strip LaTeX/markdown wrappers models like to add."""
    text = text.strip().strip("`$").replace("\\times", "*").replace("\\div", "/").replace("\\cdot", "*")
    text = text.replace("\\left", "").replace("\\right", "").replace("\\(", "").replace("\\)", "")
    return text.translate(_TRANSLATE).strip().rstrip(".")


def parse(text: str) -> ast.Expression:
    """The checked tree of a bounded expression: at most ``MAX_CHARS`` characters and ``MAX_DEPTH`` levels, so
    parsing, checking and evaluating never recurse deeply (hostile text: ``-`` x 300, a 1,000-term sum)."""
    source = normalise(text)
    if len(source) > MAX_CHARS:
        raise ExpressionError(f"the expression is {len(source)} characters long; an answer is at most {MAX_CHARS}")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"not a valid expression ({getattr(exc, 'msg', None) or type(exc).__name__})") from None
    _check(tree.body)
    return tree


def _check(root: ast.AST) -> None:
    stack = [(root, 1)]  # iterative: the depth is checked before anything recurses
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _OPS:
                raise ExpressionError(f"operator {type(node.op).__name__} is not allowed (use + - * /)")
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, int) or isinstance(node.value, bool):
                raise ExpressionError(f"{str(node.value)[:20]!r} is not a whole number")
        else:
            raise ExpressionError(f"{_what(node)} is not allowed (only numbers, + - * / and parentheses)")


def _what(node: ast.AST) -> str:
    if isinstance(node, ast.UnaryOp):
        return "a sign in front of a term (unary " + type(node.op).__name__ + ")"
    return f"'{type(node).__name__}'"


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
