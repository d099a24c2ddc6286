"""``surfsight inspect``: inspect parts against a specification and write results and a report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from .common import user_errors


def _progress(total_hint: int, console):
    """Callbacks for the batch: a rich progress bar on a terminal, one plain line per part otherwise."""
    state: dict[str, Any] = {"bar": None, "task": None, "done": 0, "total": 0}

    def on_start(todo: int, skipped: int) -> None:
        state["total"] = todo
        if skipped:
            console.print(f"resume: {skipped} input(s) already inspected, skipped")
        if console.is_terminal and todo:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(TextColumn("inspecting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           TextColumn("{task.description}"), console=console, transient=False)
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task("", total=todo)

    def on_row(row: dict) -> None:
        state["done"] += 1
        verdict = row.get("verdict") if row.get("status") == "ok" else "ERROR"
        name = Path(row["file"]).name
        if state["bar"] is not None:
            state["bar"].update(state["task"], advance=1, description=f"{name}: {verdict}")
        else:
            console.print(f"[{state['done']}/{state['total']}] {row['file']}: {verdict}", highlight=False,
                          markup=False)

    def stop() -> None:
        if state["bar"] is not None:
            state["bar"].stop()

    return on_start, on_row, stop


def inspect(
    paths: List[str] = typer.Argument(..., help="Files, folders (searched recursively) or glob patterns."),
    spec: Path = typer.Option(..., "--spec", "-s", help="Specification (YAML): limits, filters, defects, fatigue."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: results.jsonl, summary.csv, report.html."),
    workers: int = typer.Option(1, "--workers", "-j", min=1, help="Worker processes."),
    resume: bool = typer.Option(False, "--resume", help="Keep earlier results in --out and skip inputs already "
                                "inspected (same content, SHA-256)."),
    model: Optional[str] = typer.Option("default", "--model", help="Model name; 'none' uses the rule-based "
                                        "defect detector."),
) -> None:
    """Inspect parts: read, level and filter, find defects, measure ISO 25178 parameters with their
    uncertainty, estimate fatigue risk, and decide conform / nonconform / indeterminate.

    Exit status: 0 all conform, 1 some nonconform or indeterminate, 2 some input could not be
    inspected (all others are still inspected and written)."""
    from rich.console import Console

    from ..inspect.batch import run_batch
    from ..spec import load_spec

    console = Console(stderr=False)
    with user_errors():
        specification = load_spec(spec)
        on_start, on_row, stop = _progress(0, console)
        try:
            result = run_batch(paths, specification, out, workers=workers, resume=resume,
                               model=None if (model or "").lower() == "none" else model,
                               on_start=on_start, on_row=on_row)
        finally:
            stop()
    counts: dict[str, int] = {}
    for row in result.rows:
        key = row.get("verdict") if row.get("status") == "ok" else "error"
        counts[key] = counts.get(key, 0) + 1
    tally = ", ".join(f"{counts[k]} {k}" for k in ("conform", "nonconform", "indeterminate", "error") if k in counts)
    console.print(f"{len(result.rows)} part(s): {tally or 'none'}", highlight=False)
    for row in result.rows:
        if row.get("status") != "ok":
            typer.echo(f"surfsight: error: {row.get('error')}", err=True)
    console.print(f"results: {result.out / 'results.jsonl'}", highlight=False)
    console.print(f"summary: {result.out / 'summary.csv'}", highlight=False)
    console.print(f"report:  {result.report}", highlight=False)
    sys.stdout.flush()
    raise typer.Exit(result.exit_status)


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect)
