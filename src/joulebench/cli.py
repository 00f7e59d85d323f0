"""The typer app, wiring only: every command lives in joulebench/commands/. Errors from bad input become one line
and exit 2."""

from __future__ import annotations

import logging
import sys
import types

import click
import typer

from joulebench.commands import exporting, listing, machine, prune, reporting, running, ticket, validation
from joulebench.errors import UserError

_typer_click_exceptions: types.ModuleType
try:  # typer >= 0.26 vendors its own click; its exceptions are not click's
    from typer._click import exceptions as _typer_click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click_exceptions = click.exceptions


app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Accuracy per joule for reduced pre-trained encoders."
)


# -- every command is a module under joulebench/commands, mounted here ----------------------------
# (import the module at the top, then one line here)
app.command("run")(running.run)
app.command("sweep")(running.sweep)
app.command("search")(running.search)
app.command("demo")(running.demo)
app.command("report")(reporting.report)
app.command("export")(exporting.export)
app.command("predict")(exporting.predict)
app.command("doctor")(machine.doctor)
app.command("validate")(validation.validate)
app.command("ls")(listing.list_plugins)
app.add_typer(prune.app, name="prune")
app.add_typer(ticket.app, name="ticket")


_EXIT = (click.exceptions.Exit, typer.Exit)
_USAGE_ERRORS = (click.ClickException, _typer_click_exceptions.ClickException)
_ABORT = (click.exceptions.Abort, typer.Abort)


def main() -> None:
    """Console entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = app(standalone_mode=False)
    except UserError as exc:
        print(f"joulebench: error: {exc}", file=sys.stderr)
        sys.exit(UserError.exit_code)
    except _EXIT as exc:
        sys.exit(exc.exit_code)
    except _USAGE_ERRORS as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (*_ABORT, KeyboardInterrupt):
        print("joulebench: interrupted; every record already written is kept", file=sys.stderr)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
