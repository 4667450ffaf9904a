"""A real JupyterLab server on 127.0.0.1 and headless Debian Chromium, for the browser tests."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("FLOWPOINT_BROWSER", "/usr/bin/chromium")
#: axe-core (accessibility checks) from the npm registry, pinned; cached beside the venv.
AXE_VERSION = "4.11.1"
AXE_CACHE = Path(__file__).resolve().parents[2] / ".venv" / f"axe-core-{AXE_VERSION}"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


@dataclass
class Lab:
    """A running JupyterLab: where it serves, its token and the folder it serves."""

    url: str
    token: str
    root: Path

    def notebook_url(self, name: str) -> str:
        """The URL that opens ``name`` (relative to root) in the lab UI."""
        return f"{self.url}/lab/tree/{name}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab serving a fresh ``work`` folder with its own config, data and runtime folders
    (one server per test module: starting one costs seconds)."""
    tmp_path = tmp_path_factory.mktemp("lab")
    root = tmp_path / "work"
    root.mkdir()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "PYTHONUNBUFFERED": "1"}
    env.pop("FLOWPOINT_STORE", None)
    settings = tmp_path / "cfg/lab/user-settings/@jupyterlab/apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    token = secrets.token_hex(16)
    port = _free_port()
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n"
                            f"{(tmp_path / 'lab.log').read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not answer within 60 s")
                time.sleep(0.25)
        yield Lab(url=url, token=token, root=root)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The text of axe.min.js: ``npm pack axe-core@AXE_VERSION`` once, then from the cache."""
    script = AXE_CACHE / "package" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm not found: the accessibility checks need axe-core from the npm "
                        "registry (apt-get install npm)")
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        out = subprocess.run([npm, "pack", f"axe-core@{AXE_VERSION}", "--silent",
                              "--pack-destination", str(AXE_CACHE)],
                             capture_output=True, text=True, timeout=300)
        tarballs = list(AXE_CACHE.glob("axe-core-*.tgz"))
        if out.returncode != 0 or not tarballs:
            pytest.fail(f"npm pack axe-core@{AXE_VERSION} failed: {out.stderr[-2000:]}")
        import tarfile

        with tarfile.open(tarballs[0]) as tar:
            tar.extract("package/axe.min.js", AXE_CACHE, filter="data")
    return script.read_text()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Headless Chromium (the Debian package); fails loudly when it is not installed."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium, or "
                    f"bash scripts/setup.sh) or point FLOWPOINT_BROWSER at it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
