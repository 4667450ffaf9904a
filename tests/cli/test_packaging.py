"""The wheel ships what users rely on: the command, py.typed, the MIT license, the quickstart."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                           str(out), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (found,) = out.glob("flowpoint-*.whl")
    return found


def test_the_wheel_ships_py_typed_the_quickstart_the_widgets_and_the_license(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "flowpoint/py.typed" in names
    assert "flowpoint/_notebooks/01_quickstart.ipynb" in names
    assert "flowpoint/_widgets/timeline.js" in names
    assert "flowpoint/__main__.py" in names and "flowpoint/cli/app.py" in names
    license_file = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
    text = zipfile.ZipFile(wheel).read(license_file).decode()
    assert text.startswith("MIT License")
    assert text == (ROOT / "LICENSE").read_text()


def test_the_metadata_declares_mit_the_command_and_the_extras(wheel: Path):
    zf = zipfile.ZipFile(wheel)
    meta = zf.read(next(n for n in zf.namelist() if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in meta
    for extra in ("cli", "lab", "docs", "test", "postgres"):
        assert f"Provides-Extra: {extra}" in meta
    lab_requires = [line for line in meta.splitlines() if "extra == 'lab'" in line]
    assert any(line.startswith("Requires-Dist: jupyterlab") for line in lab_requires)
    assert not any(word in line for line in lab_requires
                   for word in ("pytest", "playwright", "psycopg", "nbval"))
    entry = zf.read(next(n for n in zf.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "flowpoint = flowpoint.cli:main" in entry
    assert '\nlicense = "MIT"\n' in (ROOT / "pyproject.toml").read_text()


def test_the_installed_layout_finds_its_own_quickstart(wheel: Path, tmp_path: Path):
    zipfile.ZipFile(wheel).extractall(tmp_path)
    code = ("import flowpoint, flowpoint.cli.lab as lab; "
            "print(flowpoint.__file__); print(lab.quickstart_source())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    module, quickstart = proc.stdout.split()
    assert module.startswith(str(tmp_path))
    assert quickstart == str(tmp_path / "flowpoint" / "_notebooks" / "01_quickstart.ipynb")
