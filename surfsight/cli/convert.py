"""``surfsight convert IN OUT``: change file format."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import user_errors


def convert(
    source: Path = typer.Argument(..., help="Input file in any format surfsight reads."),
    target: Path = typer.Argument(..., help="Output file; its suffix chooses the format (.x3p, .gsf, .npz, .csv, .sdf)."),
    channel: str = typer.Option(None, "--channel", "-c", help="Data channel to convert (default: heights)."),
) -> None:
    """Convert a surface file to another format. The output is written atomically."""
    from ..io import read, write

    with user_errors():
        obj = read(source, channel)
        write(obj, target)
    typer.echo(f"wrote {target}")


def register(app: typer.Typer) -> None:
    app.command("convert")(convert)
