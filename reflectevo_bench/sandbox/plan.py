"""Turn test statements into units whose verdicts the harness computes outside the candidate's process.

For ``assert f(args) == expected`` (and every assert whose shape allows it) the candidate's process only
evaluates the *holes*, the parts that need the program (``f(args)``), and sends their values back through
:mod:`codec`; the rest of the assertion, the *verdict* (``__h0 == expected``), is evaluated by the harness,
or by a separate trusted sandboxed judge process when it is not simple enough for :mod:`judge`'s evaluator.
``expected`` is never sent to the candidate.

How an assert is split (``tests`` may be MBPP strings or the asserts inside HumanEval's ``check``):

* a name is *tainted* when the setup code binds it, when the program binds it with a module-level statement
  that always runs (dead or conditional bindings such as ``if 0: tuple = ...`` do not count, see
  :func:`_live_bound_names`), or when it is unknown; builtins and standard library modules used as
  ``module.attr`` (``math.isclose``) are trusted. Test-side module names are always
  the real modules, so a program cannot shadow ``math`` with a fake ``isclose``;
* a hole is a tainted name plus everything applied to it: attributes, subscripts and calls (``f(x)[0]``,
  ``Solution().run(x)``). Builtins applied to a hole (``sorted(f(x))``, ``len(f(x))``) stay outside: inside
  the candidate's process they could be patched. Builtin iterators a hole returns (generators, ``map``,
  ``zip``, ``range``, dict views) travel as a tuple-like snapshot, see :mod:`codec`;
* names bound inside the assert itself (lambda parameters, comprehension variables) are local to the
  verdict: ``sorted(f(x), key=lambda t: t[1])`` keeps the lambda outside;
* the assert stays whole ("general", run by the trusted check process, which calls into the candidate
  for values only) when the split would change its meaning or cannot be trusted: a comparison whose every
  side is tainted (``f(x) == Pair(1, 2)``), tainted code under ``or``/``if-else``/comprehensions/lambdas
  (conditional evaluation), or statements that are not a single assert (HumanEval checks with loops).
"""

from __future__ import annotations

import ast
import builtins
import copy
import sys
import threading
import warnings
from dataclasses import dataclass, field

BUILTIN_NAMES = frozenset(dir(builtins))
STDLIB_MODULES = frozenset(getattr(sys, "stdlib_module_names", ()))
CONDITIONAL = (
    ast.IfExp,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.NamedExpr,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
)


@dataclass
class Unit:
    index: int
    source: str
    holes: list[str] | None = None  # split: expressions evaluated in the candidate's process
    verdict: str | None = None  # split: expression over __h0, __h1, ... evaluated outside
    general: str | None = None  # general: statement run in the trusted check process (program calls are
    #                                 forwarded to the candidate's process, values only)

    @property
    def split(self) -> bool:
        return self.holes is not None


@dataclass
class Plan:
    units: list[Unit]
    setup: str = ""
    imports: list[str] = field(default_factory=list)  # trusted statements the judge process runs first

    def candidate_units(self) -> list[dict]:
        return [{"i": u.index, "holes": u.holes} if u.split else {"i": u.index, "src": u.general} for u in self.units]


class NotSplittable(Exception):
    pass


def _bound_names(tree: ast.AST) -> tuple[set[str], dict[str, ast.stmt]]:
    """Every name a piece of code may bind anywhere (over-approximated), plus its imports by bound name."""
    names: set[str] = set()
    imports: dict[str, ast.stmt] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if bound != "*":
                    names.add(bound)
                    imports.setdefault(bound, node)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.arg):
            pass  # parameters are local
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names, imports


def _live_bound_names(tree: ast.Module) -> set[str]:
    """Names the program really binds at module level: by a top-level statement that always runs.

    A program may only widen what runs inside it by what it really does: a builtin (``tuple``, ``sorted``)
    or a name of the test's own data counts as the program's only when a module-level ``def``/``class``,
    assignment or import binds it unconditionally. Bindings in dead or conditional code (``if 0: tuple =
    ...``, ``try``/``with``/loop bodies), inside functions (``global``) or removed again (``del``) do not:
    for those the test keeps the builtin meaning and is judged outside. (A program that rebinds a builtin
    at run time only changes what its own functions compute; verdicts use the real builtins.)
    """
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(node, ast.AnnAssign) and node.value is None:
                continue
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names if alias.name != "*")
    deleted = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Del)}
    return names - deleted


def _module_attr_bases(expr: ast.AST) -> set[str]:
    return {
        n.value.id
        for n in ast.walk(expr)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in STDLIB_MODULES
    }


def _local_names(expr: ast.AST) -> set[str]:
    """Names bound inside an expression: lambda parameters, comprehension targets, walrus targets."""
    names: set[str] = set()
    for node in ast.walk(expr):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.comprehension):
            names.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.NamedExpr):
            names.add(node.target.id)
    return names


class _Splitter:
    def __init__(self, tainted_names: set[str], modules: set[str], local: set[str]):
        self.tainted_names = tainted_names
        self.modules = modules
        self.local = local
        self.holes: list[str] = []
        self._taint: dict[int, bool] = {}

    def tainted_name(self, name: str) -> bool:
        if name in self.modules or name in self.local:
            return False
        return name in self.tainted_names or name not in BUILTIN_NAMES

    def mark(self, node: ast.AST) -> bool:
        """Compute (once, bottom-up) whether each node references a tainted name."""
        hit = isinstance(node, ast.Name) and self.tainted_name(node.id)
        for child in ast.iter_child_nodes(node):
            hit = self.mark(child) or hit
        self._taint[id(node)] = hit
        return hit

    def tainted(self, node: ast.AST) -> bool:
        return self._taint[id(node)]

    def is_hole(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return isinstance(node.ctx, ast.Load) and self.tainted_name(node.id)
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return self.is_hole(node.value)
        if isinstance(node, ast.Call):
            return self.is_hole(node.func)
        return False

    def split(self, expr: ast.AST) -> ast.AST:
        self.mark(expr)
        return self.transform(expr)

    def transform(self, node: ast.AST) -> ast.AST:
        """A copy of ``node`` with holes replaced by ``__hN`` names (the original is left untouched)."""
        if not self.tainted(node):
            return node
        if self.is_hole(node):
            if any(isinstance(n, ast.Name) and n.id in self.local for n in ast.walk(node)):
                raise NotSplittable("program call depends on a variable of the assert itself")
            name = f"__h{len(self.holes)}"
            self.holes.append(ast.unparse(node))
            return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)
        if isinstance(node, CONDITIONAL) or (isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or)):
            # ``and`` is fine: evaluating every operand eagerly cannot turn a failure into a pass
            raise NotSplittable("tainted code under conditional evaluation")
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if all(self.tainted(o) for o in operands):
                raise NotSplittable("every side of the comparison comes from the program")
        new = copy.copy(node)
        for fname, value in ast.iter_fields(node):
            if isinstance(value, list):
                setattr(new, fname, [self.transform(v) if isinstance(v, ast.AST) else v for v in value])
            elif isinstance(value, ast.AST):
                setattr(new, fname, self.transform(value))
        return new


def _split_check_body(
    body: list[ast.stmt], arg: str, prog_names: set[str], trusted: set[str]
) -> tuple[list[ast.Assert], list[ast.stmt], bool]:
    """Asserts of a HumanEval ``check``, plus the statements that only prepare test data.

    Imports and assignments whose right-hand side uses no program name (``lst = list(range(-99, 100, 2))``)
    are trusted test code: hoisted before the units and run both in the program's namespace and in the
    judge. Bare expressions without calls (``print``) are no-ops. Anything else (loops, calls to helpers)
    keeps the whole check general. ``trusted`` receives the names the hoisted statements bind.
    """
    asserts: list[ast.Assert] = []
    prelude: list[ast.stmt] = []
    bound: set[str] = set()
    usable = BUILTIN_NAMES - prog_names

    def clean(expr: ast.AST) -> bool:
        local = _local_names(expr)
        return all(
            n.id != arg and (n.id in usable or n.id in bound or n.id in local)
            for n in ast.walk(expr)
            if isinstance(n, ast.Name)
        )

    for stmt in body:
        if isinstance(stmt, ast.Assert):
            asserts.append(stmt)
        elif isinstance(stmt, ast.Pass) or (
            isinstance(stmt, ast.Expr) and not any(isinstance(n, ast.Call) for n in ast.walk(stmt))
        ):
            continue
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            prelude.append(stmt)
            bound |= _bound_names(stmt)[0]
        elif (
            isinstance(stmt, ast.Assign)
            and clean(stmt.value)
            and all(isinstance(t, ast.Name) and t.id not in prog_names and t.id != arg for t in stmt.targets)
        ):
            prelude.append(stmt)
            bound |= {t.id for t in stmt.targets}
        else:
            return [], [], False
    trusted |= bound
    return asserts, prelude, True


class _Rename(ast.NodeTransformer):
    def __init__(self, old: str, new: str):
        self.old, self.new = old, new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id == self.old:
            return ast.copy_location(ast.Name(id=self.new, ctx=node.ctx), node)
        return node


PARSE_NAME = "<reflectevo-sandbox-parse>"
_parse_lock = threading.Lock()


def parse(src: str, mode: str = "exec") -> ast.AST:
    """``ast.parse`` for the harness: one parse at a time (CPython < 3.11.8 corrupts a global recursion
    counter when threads parse concurrently, gh-106905) and with the program's compile-time warnings
    (invalid escapes, ``is`` with a literal) silenced: they belong to the program, not the harness."""
    with _parse_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(src, PARSE_NAME, mode)


def _safe_parse(src: str) -> ast.Module | None:
    """Parse untrusted source (never compiled to byte code or run here); None if it does not parse."""
    try:
        return parse(src)  # type: ignore[return-value]
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError, SystemError):
        return None


def make_plan(program: str, tests: list[str], setup: str = "", entry_point: str | None = None) -> Plan:
    """Build the units for one program.

    ``tests`` holds Python statements. MBPP style: each string is typically ``assert f(...) == ...``, one unit
    each. HumanEval style: pass ``entry_point`` and the ``test`` source defining ``check(candidate)``; each
    assert in ``check`` becomes one unit with ``candidate`` renamed to ``entry_point`` (a check with loops or
    helpers stays one general unit that calls ``check(entry_point)``), and module-level statements of the
    test source (``METADATA = ...``) join the setup. With ``entry_point`` set, a name ``candidate`` in plain
    test strings also means the entry point. ``setup`` runs after the program and before the tests, in the
    program's namespace (MBPP's ``test_setup_code`` builds objects from the program's classes).
    """
    if not isinstance(tests, (list, tuple)) or not all(isinstance(t, str) for t in tests):
        raise TypeError("tests must be a list of strings")
    prog_tree = _safe_parse(program)
    # a program that does not parse here cannot load in the sandbox either: it widens nothing
    prog_names = _live_bound_names(prog_tree) if prog_tree is not None else set()
    setup_parts = [setup] if setup.strip() else []
    judge_prelude: list[str] = []  # trusted test statements the judge process runs first
    trusted_prelude_names: set[str] = set()  # names those statements bind (trusted in verdicts)
    raw: list[tuple[str, ast.stmt | None, str | None]] = []  # (source, assert node, general source)
    for test in tests:
        tree = _safe_parse(test)
        check = None
        if tree is not None and entry_point:
            check = next((s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "check"), None)
        if check is not None:
            module_prelude = [s for s in tree.body if s is not check]
            if module_prelude:
                setup_parts.append(ast.unparse(ast.Module(body=module_prelude, type_ignores=[])))
            arg = check.args.args[0].arg if check.args.args else "candidate"
            asserts, prelude, ok = _split_check_body(check.body, arg, prog_names, trusted_prelude_names)
            if ok and asserts:
                judge_prelude += [ast.unparse(p) for p in prelude]
                setup_parts += [ast.unparse(p) for p in prelude]
                for s in asserts:
                    node = _Rename(arg, entry_point).visit(s)
                    raw.append((ast.unparse(node), node, None))
            else:  # the whole test file runs in the trusted check process, calling into the program
                whole = ast.unparse(ast.Module(body=[*module_prelude, check], type_ignores=[]))
                raw.append((f"check({entry_point})", None, whole + f"\ncheck({entry_point})"))
            continue
        if tree is not None and entry_point:
            tree = _Rename("candidate", entry_point).visit(tree)
        if tree is not None and len(tree.body) == 1 and isinstance(tree.body[0], ast.Assert):
            raw.append((test.strip(), tree.body[0], None))
        else:
            raw.append((test.strip(), None, ast.unparse(tree) if tree is not None else test))
    setup_all = "\n".join(setup_parts)
    setup_tree = _safe_parse(setup_all) if setup_all else None
    setup_names = _bound_names(setup_tree)[0] if setup_tree is not None else set()
    tainted_names = prog_names | (setup_names - trusted_prelude_names)
    if setup_all and setup_tree is None:
        tainted_names = tainted_names | BUILTIN_NAMES
    units: list[Unit] = []
    needed_imports: dict[str, str] = {}
    for index, (source, node, general) in enumerate(raw):
        if node is None:
            units.append(Unit(index, source, general=general))
            continue
        modules = _module_attr_bases(node.test)
        local = _local_names(node.test)
        if local & modules:  # a local shadows a module name: too subtle to split
            units.append(Unit(index, source, general=ast.unparse(node)))
            continue
        splitter = _Splitter(tainted_names, modules | trusted_prelude_names, local)
        try:
            verdict = splitter.split(node.test)
            verdict_src = ast.unparse(verdict)
        except (NotSplittable, SyntaxError, ValueError, RecursionError):
            units.append(Unit(index, source, general=ast.unparse(node)))
            continue
        for mod in modules:
            needed_imports[mod] = f"import {mod}"
        units.append(Unit(index, source, holes=splitter.holes, verdict=verdict_src))
    return Plan(units=units, setup=setup_all, imports=judge_prelude + sorted(set(needed_imports.values())))
