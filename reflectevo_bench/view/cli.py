"""``reflectevo-bench view RUN_DIR [RUN_DIR...] [--out FILE.html] [--serve]``."""

from __future__ import annotations

from pathlib import Path

import click

from reflectevo_bench.cli_errors import friendly_errors
from reflectevo_bench.errors import BenchError


def default_out(run_dirs: tuple[Path, ...]) -> Path:
    """One run: RUN_DIR/view.html (where the leaderboard looks for it); several: view.html here."""
    return run_dirs[0] / "view.html" if len(run_dirs) == 1 else Path("view.html")


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="HTML file to write (default: RUN_DIR/view.html for one run, ./view.html for several).",
)
@click.option("--serve", is_flag=True, help="Also serve the page on localhost until Ctrl-C.")
@click.option("--port", type=int, default=8765, show_default=True, help="Port for --serve (0: any free port).")
@click.option("--title", default=None, help="Page title.")
@friendly_errors
def view(run_dirs: tuple[Path, ...], out: Path | None, serve: bool, port: int, title: str | None) -> None:
    """Write a self-contained HTML transcript browser of one or more runs (several: side by side on the same docs)."""
    from reflectevo_bench.harness.run_dir import write_text_atomic
    from reflectevo_bench.view.data import load_view_data
    from reflectevo_bench.view.page import render_view

    out = out or default_out(run_dirs)
    if out.exists() and out.is_dir():
        raise BenchError(f"--out {out} is a directory: name an .html file")
    data = load_view_data(list(run_dirs))
    html = render_view(data, title or "Transcripts: " + " vs ".join(r["label"] for r in data["runs"]))
    write_text_atomic(out, html)
    click.echo(f"{len(data['docs'])} docs from {len(run_dirs)} run(s) → {out}")
    if serve:
        from reflectevo_bench.view.serve import make_server

        try:
            server = make_server(html, port)
        except OSError as exc:
            raise BenchError(
                f"--serve: cannot listen on 127.0.0.1:{port} ({exc.strerror}): pick another --port"
            ) from None
        click.echo(f"serving on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
