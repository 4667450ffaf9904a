#!/usr/bin/env bash
# The main job: install what the tutorials need (flowpoint and JupyterLab: no test tools, no
# Chromium, no PostgreSQL), then open the quickstart tutorial in JupyterLab.
#   bash scripts/lab.sh              JupyterLab on 127.0.0.1 with notebooks/01_quickstart.ipynb open
#   bash scripts/lab.sh --headless   run the quickstart without a browser, top to bottom, and save
#                                    the executed copy to build/lab/01_quickstart.ipynb (outside
#                                    notebooks/, so the test suite never collects it)
# Extra arguments go to `jupyter lab` (e.g. --port 8899).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --lab

NOTEBOOK=notebooks/01_quickstart.ipynb

if [ "${1:-}" = "--headless" ]; then
    shift
    mkdir -p build/lab
    echo "lab: executing $NOTEBOOK (no API key needed: a fake LLM answers)"
    # The kernel runs in notebooks/, so the default store is notebooks/.flowpoint/checkpoints.db
    # (or $FLOWPOINT_STORE when set).
    .venv/bin/jupyter nbconvert --to notebook --execute "$NOTEBOOK" \
        --output-dir build/lab --ExecutePreprocessor.timeout=300 \
        --ExecutePreprocessor.kernel_name=python3 --log-level=WARN
    store="${FLOWPOINT_STORE:-sqlite:///$PWD/notebooks/.flowpoint/checkpoints.db}"
    .venv/bin/python - "$store" <<'PY'
import sys

import nbformat

from flowpoint import open_store

nb = nbformat.read("build/lab/01_quickstart.ipynb", as_version=4)
errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
          if o.output_type == "error"]
store = open_store(sys.argv[1])
report = store.storage_report()
runs = store.list_runs()
statuses = {}
for r in runs:
    statuses[r.status] = statuses.get(r.status, 0) + 1
code_cells = sum(c.cell_type == "code" for c in nb.cells)
print(f"lab: executed notebook: build/lab/01_quickstart.ipynb "
      f"({code_cells} code cells, {len(errors)} errors)")
print(f"lab: store:             {store.url}")
print(f"lab: {report['runs']} runs ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}), "
      f"{report['checkpoints']} checkpoints")
sys.exit(1 if errors else 0)
PY
    exit 0
fi

args=(--ServerApp.ip=127.0.0.1)
[ "$(id -u)" = 0 ] && args+=(--allow-root)
echo "lab: starting JupyterLab with $NOTEBOOK (Ctrl-C to stop)"
exec .venv/bin/jupyter lab "$NOTEBOOK" "${args[@]}" "$@"
