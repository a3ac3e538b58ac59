#!/usr/bin/env bash
# Spark needs Java 17: stop at once, with the way to install it, rather than fail deep inside a Spark job.
set -euo pipefail
how="Install Java 17 and put it on PATH (or set JAVA_HOME):
  Debian/Ubuntu:  sudo apt-get install -y openjdk-17-jre-headless
  macOS:          brew install openjdk@17
  other:          https://adoptium.net (Temurin 17)"
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
if ! command -v "$java_bin" >/dev/null 2>&1; then
  echo "cardlake needs Java 17 for Spark, and no java was found." >&2
  echo "$how" >&2
  exit 1
fi
version=$("$java_bin" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\)\(\.[0-9]*\)*.*/\1/p' | head -1)
if [ "${version:-0}" != "17" ]; then
  echo "cardlake needs Java 17 for Spark 3.5 (found Java ${version:-unknown} at $(command -v "$java_bin"))." >&2
  echo "$how" >&2
  exit 1
fi
