"""``flowpoint lab``: open the quickstart tutorial in JupyterLab, in a folder of its own."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from .session import CliError

QUICKSTART = "01_quickstart.ipynb"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def quickstart_source() -> Path:
    """The quickstart shipped in the wheel (flowpoint/_notebooks), else the source checkout's."""
    candidates = [_PACKAGE_DIR / "_notebooks" / QUICKSTART]
    parents = Path(__file__).resolve().parents
    if len(parents) > 3:
        candidates.append(parents[3] / "notebooks" / QUICKSTART)
    for path in candidates:
        if path.is_file():
            return path
    raise CliError(f"the quickstart notebook is missing (looked in "
                   f"{', '.join(map(str, candidates))}); reinstall flowpoint")


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("folder", default="flowpoint-quickstart", metavar="[FOLDER]",
                type=click.Path(file_okay=False))
@click.argument("lab_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- JUPYTER_ARGS]...")
def lab(folder: str, lab_args: tuple[str, ...]) -> None:
    """Open the quickstart in JupyterLab, copied into FOLDER (default ./flowpoint-quickstart).

    An existing copy is opened as it is, never overwritten. The notebook keeps its store in
    FOLDER/.flowpoint. Arguments after -- go to 'jupyter lab' (e.g. -- --port 8899 --no-browser).
    """
    if folder.startswith("-"):  # no FOLDER given: the first word is already for jupyter lab
        folder, lab_args = "flowpoint-quickstart", (folder, *lab_args)
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable) + os.pathsep
                           + os.environ.get("PATH", ""))
    if jupyter is None:
        raise CliError("JupyterLab is not installed; install it with pip install 'flowpoint[lab]'")
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    notebook = target / QUICKSTART
    if not notebook.exists():
        shutil.copyfile(quickstart_source(), notebook)
        click.echo(f"lab: copied the quickstart to {notebook}", err=True)
    args = [jupyter, "lab", QUICKSTART, "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={target.absolute()}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    click.echo(f"lab: starting JupyterLab with {notebook} (Ctrl-C to stop)", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(target)
    os.execv(jupyter, [*args, *lab_args])
