#!/usr/bin/env bash
# Register cardlake's local deployments (prefect.yaml, `*-local`) on the Prefect API of the current profile /
# PREFECT_API_URL (a `prefect server start` on this machine, or Prefect Cloud), then print how to run them.
# Idempotent: the pool and blocks are kept if they exist, deployments are updated in place.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFECT=.venv/bin/prefect

if ! "$PREFECT" work-pool inspect cardlake-local >/dev/null 2>&1; then
  "$PREFECT" work-pool create cardlake-local --type process
fi
.venv/bin/cardlake blocks register            # block types + local default documents (kept when present)
"$PREFECT" --no-prompt deploy --name '*-local'  # run from the repository root: the worker runs the code here

cat <<'TXT'

Deployed pipeline/pipeline-local, alerts/alerts-local and backfill/backfill-local (schedules inactive).
Start a worker in this directory, with the card API it should read (e.g. `cardlake api serve` in another shell):
  CARDLAKE_API_BASE_URL=http://127.0.0.1:8765 .venv/bin/prefect worker start --pool cardlake-local
Run a window:
  .venv/bin/prefect deployment run pipeline/pipeline-local --param start=2025-06-01 --param end=2025-06-02 --watch
TXT
