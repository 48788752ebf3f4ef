#!/usr/bin/env bash
# Runs the knowledge benchmark (see knowledge_bench_test.go): ingestion through the
# service and its River workers, then retrieval next to its floor, the bare SQL
# full-text query with the same filters. Knobs: BENCH_CHUNKS (100000, the measured org),
# BENCH_OTHER_CHUNKS (10000 for each other org), BENCH_ORGS (10), BENCH_QUESTIONS (1000),
# BENCH_WORKERS (2), GOMAXPROCS (the targets are stated for 2). Needs PostgreSQL at
# DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOMAXPROCS="${GOMAXPROCS:-2}"
go test ./bench/knowledge -run '^$' -bench BenchmarkKnowledge -benchtime=1x -count=1 -timeout 30m \
  | grep -v '^\(goos\|goarch\|pkg\|cpu\|PASS\|ok\|BenchmarkKnowledge\)'
