"""``surfsight show PATH -o OUT.png``: a picture of a surface or profile."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import user_errors


def show(
    path: Path = typer.Argument(..., help="Surface or profile file."),
    output: Path = typer.Option(..., "--output", "-o", help="Image to write (.png, .svg or .pdf)."),
    channel: str = typer.Option(None, "--channel", "-c", help="Data channel to draw (default: heights)."),
) -> None:
    """Draw a height map with colour bar, scale bar and the invalid points in magenta (profiles as a line)."""
    from ..io import read
    from ..report.figures import show as draw

    with user_errors():
        obj = read(path, channel)
        draw(obj, output)
    typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command("show")(show)
