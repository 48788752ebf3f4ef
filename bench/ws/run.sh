#!/usr/bin/env bash
# Runs the /ws turn benchmark and its floor (see ws_bench_test.go) and prints the figures.
# Knobs: BENCH_CLIENTS (16), BENCH_TURNS per client (25), BENCH_TOKENS per turn (50),
# GOMAXPROCS (the targets are stated for 2). Needs PostgreSQL at DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOMAXPROCS="${GOMAXPROCS:-2}"
go test ./bench/ws -run '^$' -bench BenchmarkTurns -benchtime=1x -count=1 | grep -v '^\(goos\|goarch\|pkg\|cpu\|PASS\|ok\|BenchmarkTurns\)'
