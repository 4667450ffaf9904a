#!/usr/bin/env bash
# Run the benchmarks side by side (flowpoint, llama-index-workflows, LangGraph) and print tables.
# Installs the `bench` extra, starts a local PostgreSQL, saves the output to
# benchmarks/results/latest.txt. Usage: bash scripts/bench.sh [--quick] [--only NAME ...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-bench
. scripts/postgres.sh
exec .venv/bin/python -m benchmarks.run "$@"
