#!/usr/bin/env bash
# make test: the whole suite. PostgreSQL 15 binaries are needed for the warehouse tests (they start their own server).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/pytest "$@"
