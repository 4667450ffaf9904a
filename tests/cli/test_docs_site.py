"""The documentation site builds with ``mkdocs build --strict`` and keeps up with the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click

from flowpoint.cli.app import cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strictly_with_the_api_reference(tmp_path: Path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(Path(sys.executable).parent)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    for page in ("getting-started", "concepts", "explorer", "storage", "security",
                 "idempotency", "cli", "api"):
        assert (site / page / "index.html").is_file(), page
    api = (site / "api" / "index.html").read_text()
    assert "Resume in a new run from" in api  # WorkflowCheckpointer.run_from's docstring
    assert "CheckpointNotFound" in api and "open_store" in api
    assert "Path-level differences of checkpoint" in api  # diff(), the function
    assert "diff_values" not in api and "resolve_step" not in api  # not the modules' insides
    assert (site / "images" / "explorer.png").is_file()


def test_the_cli_reference_names_every_command_and_option():
    text = (ROOT / "docs" / "cli.md").read_text()
    assert isinstance(cli, click.Group)
    for name, command in cli.commands.items():
        assert re.search(rf"^## {name}$", text, re.M), f"no section for {name}"
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    assert f"`{opt}" in text or f", `{opt}`" in text or f"{opt} " in text, (
                        f"{name} {opt} is not documented")


def test_every_page_the_readme_links_exists():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / target).exists(), target
    assert "docs/index.md" in readme
    assert "flowpoint runs" in readme and "flowpoint resume" in readme
