#!/usr/bin/env bash
# Runs the /ws turn benchmark and its floor (see ws_bench_test.go) and prints the figures.
# BENCH=BenchmarkTracing compares tracing on (always_on, OTLP to a local sink) with off.
# Knobs: BENCH_CLIENTS (a comma-separated concurrency sweep, "1,2,4,16"), BENCH_TURNS per
# client per round (20), BENCH_TOKENS per turn (50), BENCH_ROUNDS (5: each round runs the
# floor, then Switchboard with the public-edge limits on and with them off, in alternating
# order), GOMAXPROCS (the targets are stated for 2). Needs PostgreSQL at DATABASE_URL
# (default: the local server). BENCH=BenchmarkLimits runs the limits-on-vs-off
# comparison instead (both servers at the same time, BENCH_CLIENTS each, default 16).
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOMAXPROCS="${GOMAXPROCS:-2}"
go test ./bench/ws -run '^$' -bench "${BENCH:-BenchmarkTurns}" -benchtime=1x -count=1 "$@" | grep -v '^\(goos\|goarch\|pkg\|cpu\|PASS\|ok\|Benchmark\)'
