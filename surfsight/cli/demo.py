"""``surfsight demo``: the main job on a built-in example, for a first look."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import user_errors


def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="Folder for the demo's files."),
) -> None:
    """Make a built-in example surface, write it as x3p, read it back, summarise it, measure its
    ISO 25178-2 parameters and draw it."""
    from rich.console import Console

    from .. import io
    from ..examples import ground_surface_with_scratch
    from ..report.figures import show as draw

    console = Console()
    with user_errors():
        out.mkdir(parents=True, exist_ok=True)
        surface = ground_surface_with_scratch()
        x3p = io.write(surface, out / "example.x3p")
        surface = io.read(x3p)
        console.print(f"[bold]example surface[/bold] written to {x3p} and read back")
        from .info import info

        info(x3p, None, False)
        from ..metrology import level_plane
        from .params import _areal, _display

        rows = _areal(level_plane(surface), "Sa,Sq,Ssk,Sku,Sz,Sdq,Sdr,Sal,Str,Std,Sk,Spk,Svk,Vmp,Vvv", None, None)
        from rich.table import Table

        table = Table(title="ISO 25178-2 parameters (plane levelled, no filter)")
        for column in ("parameter", "value", "unit", "meaning"):
            table.add_column(column)
        for key, value, unit, description, reason in rows:
            text, symbol = _display(value, unit)
            table.add_row(key, text, symbol, reason or description)
        console.print(table)
        picture = draw(surface, out / "example.png", title="built-in example: ground surface with a scratch")
    console.print(f"picture: {picture}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
