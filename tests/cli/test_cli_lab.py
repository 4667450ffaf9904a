"""``flowpoint lab``: copies the quickstart into its own folder and serves it with JupyterLab."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from cli_support import SCRIPT

from flowpoint.cli.lab import quickstart_source

TOKEN = "flowpoint-lab-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _served_notebook(cwd: Path, *folder: str) -> dict:
    """Start `flowpoint lab [FOLDER] ...` in cwd, fetch the quickstart through the server, stop
    it. Without FOLDER the JupyterLab options follow `--`; with one they follow it directly."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "FLOWPOINT_STORE"}
    env["JUPYTER_CONFIG_DIR"] = str(cwd / "jupyter-config")
    env["JUPYTER_RUNTIME_DIR"] = str(cwd / "jupyter-runtime")
    proc = subprocess.Popen(
        [str(SCRIPT), "lab", *(folder or ["--"]), "--no-browser", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}/api/contents/01_quickstart.ipynb?token={TOKEN}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    return json.loads(resp.read())
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_lab_copies_the_quickstart_and_serves_it_without_overwriting_a_copy(tmp_path: Path):
    folder = tmp_path / "flowpoint-quickstart"
    served = _served_notebook(tmp_path)
    source = json.loads(quickstart_source().read_text())
    assert served["type"] == "notebook"
    assert [c["source"] for c in served["content"]["cells"]] == [
        "".join(c["source"]) for c in source["cells"]]
    copy = json.loads((folder / "01_quickstart.ipynb").read_text())
    copy["cells"][0]["source"] = ["# my own notes\n"]
    (folder / "01_quickstart.ipynb").write_text(json.dumps(copy))
    served = _served_notebook(tmp_path, "flowpoint-quickstart")
    assert served["content"]["cells"][0]["source"] == "# my own notes\n"
