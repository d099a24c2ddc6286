"""``surfsight demo``: the main job, ``inspect``, on a built-in batch of simulated parts."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import user_errors


def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="Folder for the demo's files."),
    workers: int = typer.Option(2, "--workers", "-j", min=1, help="Worker processes."),
) -> None:
    """Simulate a small batch of ground parts (some good, some with a deep scratch), write them as
    x3p, inspect them against a built-in specification, and say where the report is."""
    from rich.console import Console
    from rich.table import Table

    from ..examples import DEMO_SPEC, demo_parts
    from ..inspect.batch import run_batch
    from ..spec import load_spec

    console = Console()
    with user_errors():
        paths = demo_parts(out / "parts")
        console.print(f"{len(paths)} simulated parts written to {out / 'parts'}")
        result = run_batch(paths, load_spec(DEMO_SPEC), out, workers=workers)
    table = Table(title=f"inspection against '{DEMO_SPEC['name']}'")
    for column in ("part", "verdict", "defects", "Sa", "safety factor"):
        table.add_column(column)
    for row in result.rows:
        sa = (row.get("parameters") or {}).get("Sa", {}).get("measured")
        sf = (row.get("failure") or {}).get("safety_factor")
        table.add_row(Path(row["file"]).name, str(row.get("verdict") or row.get("error")), str(len(row["defects"])),
                      "—" if sa is None else f"{sa * 1e6:.3f} µm", "—" if sf is None else f"{sf:.2f}")
    console.print(table)
    console.print(f"results: {out / 'results.jsonl'}\nsummary: {out / 'summary.csv'}")
    console.print(f"report:  {result.report.resolve()}  (open it in a browser)")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
