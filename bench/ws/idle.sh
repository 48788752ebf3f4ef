#!/usr/bin/env bash
# Idle-socket benchmark (bench/README.md, "Idle sockets"): what one idle widget socket (one
# conversation session, then nothing) costs the server's resident memory. Builds the idle
# server (bench/ws/idleserver: `switchboard serve` plus a debug listener) from this tree and,
# when IDLE_BASE names a commit, from a worktree of that commit too, then runs
# BenchmarkIdle over both in one run.
# Knobs (environment): IDLE_BASE (a commit to compare with; none: this tree alone),
# BENCH_IDLE_SOCKETS (10000), BENCH_IDLE_RUNS (3), BENCH_IDLE_DIALERS (16),
# BENCH_IDLE_PROFILE=dir (heap and goroutine profiles of the first run), GOMAXPROCS (2).
# Needs PostgreSQL at DATABASE_URL (default: the local server) and an open-file hard limit
# above the socket count (the benchmark raises its soft limit itself).
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOMAXPROCS="${GOMAXPROCS:-2}"
ulimit -n "$(ulimit -Hn)"
tmp="$(mktemp -d)"
cleanup() {
  if [[ -d "$tmp/base" ]]; then git worktree remove --force "$tmp/base"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/after" ./bench/ws/idleserver
label=this
if [[ -n "${IDLE_BASE:-}" ]]; then
  git worktree add --quiet --detach "$tmp/base" "$IDLE_BASE"
  mkdir -p "$tmp/base/bench/ws/idleserver"
  cp bench/ws/idleserver/main.go "$tmp/base/bench/ws/idleserver/main.go"
  (cd "$tmp/base" && go build -o "$tmp/before" ./bench/ws/idleserver)
  servers="before=$tmp/before,"
  label=after
fi
servers="${servers:-}$label=$tmp/after"
IDLE_SERVERS="$servers" go test ./bench/ws -run '^$' -bench BenchmarkIdle -benchtime=1x -count=1 -timeout=0 "$@" |
  grep --line-buffered -v '^\(goos\|goarch\|pkg\|cpu\|PASS\|ok\|BenchmarkIdle\)'
