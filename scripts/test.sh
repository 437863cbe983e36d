#!/usr/bin/env bash
# `npm test`: install what is missing, make sure the local Postgres the tests use is up, typecheck,
# then run every vitest file (or the files/filters given: `npm test -- test/ops`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-tools.sh

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

wait_for_postgres() {
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return 0
    sleep 0.5
  done
  echo "Postgres at 127.0.0.1:5432 did not become ready" >&2
  return 1
}

# Tests create one database per file on the server named by TEST_DATABASE_URL,
# by default the machine's own Postgres at 127.0.0.1:5432 (trust auth, user postgres).
ensure_local_postgres() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then return 0; fi
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then return 0; fi
  local fresh=0
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "installing PostgreSQL from the distribution's packages" >&2
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >&2
    fresh=1
  fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  if [ "$fresh" -eq 1 ]; then
    # A fresh Debian cluster wants a password over TCP; the tests connect as postgres without one.
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "/etc/postgresql/$version/main/pg_hba.conf"
  fi
  echo "starting PostgreSQL $version (cluster main)" >&2
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  wait_for_postgres
}

ensure_local_postgres

echo "typecheck: tsc --noEmit (server, then web/)" >&2
npx tsc --noEmit
npx tsc --noEmit -p web

# The console's browser tests drive the distribution's Chromium (never a Playwright download).
if ! command -v chromium >/dev/null; then
  echo "installing Chromium from the distribution's packages (browser tests)" >&2
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >&2
fi

# A JSON report beside the usual output gives one closing line that any CI reads the same way.
report="$(mktemp -t vitest-report.XXXXXX.json)"
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
if [ -s "$report" ]; then
  node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  ' "$report"
fi
exit "$status"
