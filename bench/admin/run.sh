#!/usr/bin/env bash
# GET /admin/agents and GET /admin/conversations at 32 connections against a bare Fiber
# handler running the same query (the floor). Needs PostgreSQL at DATABASE_URL (default:
# local). Figures and the floor are printed; see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./bench/admin "$@"
