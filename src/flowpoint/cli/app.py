"""The ``flowpoint`` group: global options, the subcommands, and one-line errors."""

from __future__ import annotations

import os
import sys
import traceback

import click

from .. import __version__
from ..errors import FlowpointError
from .housekeeping import prune, report
from .inspect import diff_cmd, show
from .lab import lab
from .listing import checkpoints, runs
from .resume import resume
from .session import Session
from .transfer_cmds import export_cmd, import_cmd

_STORE_HELP = ("store URL: sqlite:///path.db, postgresql+psycopg://user:pw@host/db, or a .db path "
               "[default: $FLOWPOINT_STORE, else ./.flowpoint/checkpoints.db]")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--store", metavar="URL", envvar="FLOWPOINT_STORE", show_envvar=False,
              help=_STORE_HELP)
@click.version_option(__version__, "--version", "-V", prog_name="flowpoint",
                      message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, store: str | None) -> None:
    """Step-level checkpoints of workflow runs: list, inspect, diff, prune, move and resume them.

    Every command reads the store given by --store, else $FLOWPOINT_STORE, else
    ./.flowpoint/checkpoints.db (the default of WorkflowCheckpointer).
    """
    session = Session(store)
    ctx.obj = session
    ctx.call_on_close(session.close)


for command in (runs, checkpoints, show, diff_cmd, prune, report, export_cmd, import_cmd, resume,
                lab):
    cli.add_command(command)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _fail(message: str, code: int) -> int:
    click.echo(f"flowpoint: error: {_one_line(message)}", err=True)
    return code


def run(argv: list[str]) -> int:
    """Parse ``argv``, run the command and turn every failure into one line and an exit status."""
    try:
        result = cli.main(args=argv, prog_name="flowpoint", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        return exc.exit_code
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "flowpoint"
        return _fail(f"{exc.format_message().rstrip('.')} (see '{where} --help')", exc.exit_code)
    except click.ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("flowpoint: interrupted", err=True)
        return 130
    except FlowpointError as exc:
        return _fail(str(exc), 1)
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), 1)
    except Exception as exc:
        if os.environ.get("FLOWPOINT_DEBUG"):
            traceback.print_exc()
        return _fail(f"unexpected {type(exc).__name__}: {exc} (set FLOWPOINT_DEBUG=1 to see the "
                     f"traceback, and please report it)", 1)
    if isinstance(result, int):
        return result
    sys.stdout.flush()
    return 0
