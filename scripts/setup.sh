#!/usr/bin/env bash
# Set up everything flowpoint needs on a fresh Debian machine: system packages and a venv in .venv.
# Idempotent: a second run only checks. Usage: bash scripts/setup.sh [--lab | --with-bench]
#   (default)     the test extra: Chromium, PostgreSQL and every test tool (what CI needs)
#   --lab         only what the tutorials need: flowpoint and JupyterLab, no Debian packages
#   --with-bench  the test extra plus the benchmarks' comparison packages
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
PY=${PYTHON:-python3}

# apt-get that waits for another apt/dpkg (unattended upgrades, a parallel setup) to finish
# instead of failing on its lock.
apt_get() {
    local sudo="" out status deadline=$((SECONDS + 900))
    [ "$(id -u)" = 0 ] || sudo="sudo"
    while true; do
        status=0
        out=$(DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=60 "$@" 2>&1) \
            || status=$?
        if [ $status = 0 ]; then
            return 0
        fi
        if grep -qiE "could not (get|open) lock|unable to acquire|is another process using it" \
            <<<"$out" && [ $SECONDS -lt $deadline ]; then
            echo "setup: waiting for the apt/dpkg lock (another package manager is running)"
            sleep 5
            continue
        fi
        echo "$out" >&2
        return $status
    done
}

need_apt=()
"$PY" -c "import ensurepip, venv" 2>/dev/null || need_apt+=(python3-venv)
if [ "$mode" != "--lab" ]; then
    [ -x /usr/bin/chromium ] || need_apt+=(chromium)
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
    [ -x /usr/bin/strace ] || need_apt+=(strace)  # the tests count fsyncs with it
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    apt_get update -qq
    apt_get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PY" -m venv .venv
fi
case "$mode" in
    --lab) extras="lab" ;;
    --with-bench) extras="test,bench" ;;
    *) extras="test" ;;
esac
stamp=".venv/.flowpoint-installed-$extras"
fresh() { [ -f "$1" ] && ! [ pyproject.toml -nt "$1" ]; }
# The test extra includes everything the lab needs.
if fresh "$stamp" || { [ "$extras" = lab ] && fresh .venv/.flowpoint-installed-test; }; then
    exit 0
fi
echo "setup: installing flowpoint[$extras] into .venv"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[$extras]"
touch "$stamp"
