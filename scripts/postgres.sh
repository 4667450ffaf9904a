#!/usr/bin/env bash
# Start a local PostgreSQL server on 127.0.0.1 for the store tests and export FLOWPOINT_TEST_PG.
# Source it: `. scripts/postgres.sh`. Idempotent. Needs root (or the postgres user) on Debian.
ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$ver main"; then
    pg_createcluster "$ver" main >/dev/null
fi
pg_ctlcluster "$ver" main start 2>/dev/null || true
for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 && break
    sleep 0.2
done
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='flowpoint'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE USER flowpoint WITH PASSWORD 'flowpoint' CREATEDB;\""
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='flowpoint'\"" | grep -q 1 \
    || su postgres -c "createdb -O flowpoint flowpoint"
export FLOWPOINT_TEST_PG="postgresql+psycopg://flowpoint:flowpoint@127.0.0.1:5432/flowpoint"
