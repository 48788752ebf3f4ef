#!/usr/bin/env bash
# Backplane benchmark (bench/README.md, "Backplane"): two instances — two hubs, each with its
# own pool and LISTEN connection — in one process on a fresh database it creates and drops.
# Prints publish→deliver p50/p99 at 1,000 events/s, the highest sustained rate, lost and
# duplicated events across a forced listener reconnect, and the floor (one pgx connection
# NOTIFYing another with a payload of the event's size). Flags pass through (-h lists them).
set -euo pipefail
cd "$(dirname "$0")/../.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/switchboard?sslmode=disable}"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
go run ./bench/backplane "$@"
