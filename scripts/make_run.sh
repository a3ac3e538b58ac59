#!/usr/bin/env bash
# make run: start the card API simulator, run the pipeline for one window, stop the simulator, print the summary.
# On the first run it also builds three months of history and trains the fraud model on them, so the window is
# scored; later runs reuse that model.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARDLAKE_HOME="${CARDLAKE_HOME:-$PWD/.cardlake}"
export PREFECT_HOME="${PREFECT_HOME:-$CARDLAKE_HOME/prefect}"
export PREFECT_LOGGING_LEVEL="${PREFECT_LOGGING_LEVEL:-WARNING}"
# The temporary Prefect API takes longer than its 20 s default to start on a busy 2-core machine.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-120}"
# The server's telemetry heartbeat races the first flow run for the SQLite database and logs a traceback.
export PREFECT_SERVER_ANALYTICS_ENABLED="${PREFECT_SERVER_ANALYTICS_ENABLED:-false}"
mkdir -p "$CARDLAKE_HOME/logs"
cli=.venv/bin/cardlake

# A fixed port keeps the API's URL, and so the extraction's cache key, the same from one `make run` to the next;
# a random free one only when it is taken.
port="${CARDLAKE_API_PORT:-$(.venv/bin/python -c '
import socket
s = socket.socket()
try:
    s.bind(("127.0.0.1", 8765))
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')}"
export CARDLAKE_API_BASE_URL="http://127.0.0.1:$port"

echo "Starting the card API simulator on $CARDLAKE_API_BASE_URL ($RUN_CARDS cards; log: $CARDLAKE_HOME/logs/api.log)"
.venv/bin/python -m cardlake.cli api serve --port "$port" --cards "$RUN_CARDS" >"$CARDLAKE_HOME/logs/api.log" 2>&1 &
api_pid=$!
stop_api() {
  kill "$api_pid" 2>/dev/null || true
  wait "$api_pid" 2>/dev/null || true
}
trap stop_api EXIT INT TERM

.venv/bin/python - "$CARDLAKE_API_BASE_URL" <<'PY'
import sys, time, urllib.request
url = sys.argv[1] + "/openapi.json"
deadline = time.monotonic() + 60
while True:
    try:
        urllib.request.urlopen(url, timeout=2).read()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"the simulator did not answer at {url} within 60 s; see .cardlake/logs/api.log")
        time.sleep(0.3)
PY

# The one-lake-writer limit (and the block types) live in this folder's Prefect database: register them once,
# so runs wait for each other instead of warning that the lake is written without the limit.
if [ ! -f "$PREFECT_HOME/.cardlake-registered" ]; then
  echo "First run: registering the lake-writer limit and block types with Prefect (log: $CARDLAKE_HOME/logs/blocks.log)"
  if "$cli" blocks register --types-only >"$CARDLAKE_HOME/logs/blocks.log" 2>&1; then
    touch "$PREFECT_HOME/.cardlake-registered"
  else
    echo "  could not register them (see the log); the run goes on without the one-writer limit"
  fi
fi

models="$CARDLAKE_HOME/models/fraud"
if [ -f "$models/LATEST" ] && [ ! -f "$models/$(tr -d '[:space:]' <"$models/LATEST")/reference.json" ]; then
  # A model from before the models carried their training reference cannot score: train a new version.
  echo "The fraud model in $models predates the training reference it now needs: training a new version"
  "$cli" fraud train --holdout-months 1
fi
if [ ! -f "$models/LATEST" ]; then
  echo "First run: building history $RUN_HISTORY_START -> $RUN_START and training the fraud model on it"
  "$cli" run --start "$RUN_HISTORY_START" --end "$RUN_START" --no-summary
  "$cli" fraud train --holdout-months 1
fi

echo "Running the pipeline for $RUN_START -> $RUN_END (Spark log: $CARDLAKE_HOME/logs/spark/)"
"$cli" run --start "$RUN_START" --end "$RUN_END"
