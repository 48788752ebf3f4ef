#!/usr/bin/env bash
# Runs every benchmark script under bench/ and prints its figures with their floor.
set -euo pipefail
cd "$(dirname "$0")"
for script in */run.sh; do
  echo "== ${script%/run.sh}"
  bash "$script"
done
