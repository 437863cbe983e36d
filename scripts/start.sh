#!/usr/bin/env bash
# `npm start`: install what is missing (once; nothing is downloaded at run time after that),
# then hand over to the orchestrator, which starts Postgres, Temporal, the worker and the API.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
# exec: the orchestrator receives Ctrl-C/SIGTERM itself and stops its children in order.
exec node --import tsx scripts/dev.ts "$@"
