"""The ``surfsight`` command. Each sub-command lives in its own module with a ``register(app)``."""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="surfsight",
    help="Quality control of manufactured surfaces: read instrument files, measure ISO roughness, "
         "find defects, decide conformity.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Command modules, each with ``register(app)``.
COMMANDS = (
    "surfsight.cli.info",
    "surfsight.cli.convert",
    "surfsight.cli.show",
    "surfsight.cli.formats",
    "surfsight.cli.params",
    "surfsight.cli.demo",
    "surfsight.cli.synth",
    "surfsight.cli.model_commands",
    "surfsight.cli.realdata_commands",
    "surfsight.cli.inspect_command",
)

for _module in COMMANDS:
    importlib.import_module(_module).register(app)


def main() -> None:
    """Entry point of the ``surfsight`` console script."""
    app(prog_name="surfsight")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
