"""``reflectevo-bench sandbox ...`` commands (a click group the main CLI attaches).

``sandbox check [--sandbox auto|bwrap|unshare|docker|none] [--mode fresh|pool|both] [--attack NAME ...]``
prints which backend ``auto`` picks and why, runs the attack catalogue against the chosen backend and prints
a table. Exit codes: 0 everything contained, 1 something escaped or was falsely judged passed, 2 bad input
(unknown attack, backend unavailable; inside a container started without the ``docker run`` flags
bubblewrap needs, the flags: see :mod:`.container`) with one line saying what to do.
"""

from __future__ import annotations

import sys

import click

from .attacks import ATTACKS, by_name
from .backends import NAMES


@click.group("sandbox")
def sandbox() -> None:
    """Inspect and test the code sandbox."""


@sandbox.command("check")
@click.option(
    "--sandbox",
    "backend",
    type=click.Choice(["auto", *NAMES]),
    default="auto",
    show_default=True,
    help="Backend to attack.",
)
@click.option(
    "--mode",
    type=click.Choice(["fresh", "pool", "both"]),
    default="both",
    show_default=True,
    help="Executor mode(s) to attack.",
)
@click.option("--attack", "only", multiple=True, metavar="NAME", help="Run only these attacks (repeatable).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
def check(backend: str, mode: str, only: tuple[str, ...], workers: int) -> None:
    """Run the built-in attack suite against a sandbox backend."""
    from rich.console import Console
    from rich.table import Table

    from .auto import explain_auto, resolve
    from .backends import SandboxUnavailable
    from .checks import run_suite

    console = Console()
    known = by_name()
    unknown = [n for n in only if n not in known]
    if unknown:
        click.echo(f"error: unknown attack(s) {', '.join(unknown)}; run with no --attack to see them all", err=True)
        sys.exit(2)
    attacks = [known[n] for n in only] if only else list(ATTACKS)
    if backend in ("auto", "bwrap"):
        from .container import container_problem

        problem = container_problem()
        if problem:  # in a container started without the flags bubblewrap needs: say which, in one line
            click.echo(f"error: {problem}", err=True)
            sys.exit(2)
    console.print(explain_auto())
    try:
        chosen = resolve(backend)
    except SandboxUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    name = chosen.name
    for warning in chosen.warnings:
        console.print(f"[bold yellow]warning:[/] {warning}")
    modes = ("fresh", "pool") if mode == "both" else (mode,)
    table = Table(title=f"sandbox check: {name}")
    for col in ("attack", "category", "mode", "status", "outcome", "details"):
        table.add_column(col, overflow="fold")
    failures = weak = contained = skipped = 0
    for m in modes:
        try:
            reports = run_suite(name, m, workers=workers, attacks=attacks)
        except SandboxUnavailable as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        for rep in reports:
            style = {"contained": "green", "ESCAPED": "bold red", "exposed (documented)": "yellow", "skipped": "dim"}[
                rep.outcome
            ]
            detail = "; ".join(rep.problems) or rep.skipped or (rep.error or "")
            table.add_row(
                rep.attack.name, rep.attack.category, m, rep.status, f"[{style}]{rep.outcome}[/]", detail[:160]
            )
            failures += rep.failed
            weak += rep.weak
            skipped += rep.skipped is not None
            contained += rep.outcome == "contained"
    console.print(table)
    console.print(
        f"{contained} contained, {failures} escaped, {weak} exposed by documented weaknesses, {skipped} skipped"
    )
    sys.exit(1 if failures else 0)


__all__ = ["sandbox"]
