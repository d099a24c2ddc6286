"""``surfsight formats``: the file formats surfsight reads and writes."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table


def formats() -> None:
    """List the file formats, their suffixes and whether surfsight reads and writes them."""
    from ..io.formats import registry

    table = Table(title="surfsight file formats")
    for column in ("name", "description", "suffixes", "read", "write"):
        table.add_column(column)
    for fmt in registry():
        table.add_row(fmt.name, fmt.description, " ".join(fmt.suffixes),
                      "yes" if fmt.read else "", "yes" if fmt.write else "")
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("formats")(formats)
