"""``surfsight info PATH``: what a file holds."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .common import print_json, user_errors


def info(
    path: Path = typer.Argument(..., help="Surface file in any format surfsight reads."),
    channel: str = typer.Option(None, "--channel", "-c", help="Data channel to read (default: heights)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (SI units) instead of a table."),
) -> None:
    """Show the format, grid, spacing, physical size, invalid share, rms height and metadata of a file.

    The rms height is the root mean square of the valid heights about their mean, with no levelling.
    """
    from ..io import read
    from ..summary import summary
    from ..units import format_length

    with user_errors():
        obj = read(path, channel)
        data = summary(obj)
    if as_json:
        print_json(data)
        return
    table = Table(title=str(path), show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("format", str(data["format"]))
    table.add_row("kind", data["kind"])
    table.add_row("points", " x ".join(map(str, data["shape"])) + ("  (rows x cols)" if len(data["shape"]) == 2 else ""))
    if data["spacing_m"]:
        table.add_row("spacing", " x ".join(format_length(s) for s in data["spacing_m"]))
    table.add_row("size", " x ".join(format_length(s) for s in data["size_m"]))
    table.add_row("invalid points", f"{data['invalid_fraction']:.2%}")
    table.add_row("rms height", format_length(data["rms_height_m"]))
    table.add_row("channels", ", ".join(map(str, data["channels"])))
    if data["layers"]:
        table.add_row("layers", ", ".join(data["layers"]))
    for key, value in data["metadata"].items():
        if key in ("format", "channels"):
            continue
        text = str(value)
        table.add_row(key, text if len(text) < 200 else text[:197] + "...")
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("info")(info)
