#!/usr/bin/env bash
# Scale benchmark (bench/README.md, "Scale"): generates, or reuses, one database per size
# (switchboard_scale_s, _m, _l on the PostgreSQL server of DATABASE_URL), then measures each
# row of the table at each size against the real server binary and prints the L/S ratios.
# Knobs (environment): BENCH_SCALE_SIZES ("S,M,L"), BENCH_SCALE_RUNS (1), BENCH_SCALE_ITERATIONS
# (200 per row), BENCH_SCALE_WARMUP (20), BENCH_SCALE_ROW_SECONDS (30), BENCH_SCALE_SEED (1),
# BENCH_SCALE_REGENERATE=1 (generate again even when the database is current),
# BENCH_SCALE_ONLY=generate (stop after generating), BENCH_TOKENS (50 per turn), GOMAXPROCS (2).
# L needs about 12 GB of disk and 15 minutes to generate; see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOMAXPROCS="${GOMAXPROCS:-2}"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
go test ./bench/scale -run '^$' -bench BenchmarkScale -benchtime=1x -count=1 -timeout=0 "$@" |
  grep --line-buffered -v '^\(goos\|goarch\|pkg\|cpu\|PASS\|ok\|BenchmarkScale\)'
