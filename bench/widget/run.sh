#!/usr/bin/env bash
# The widget's bundle size and, in headless Chromium, the time from page load to an
# interactive launcher. Needs Chromium (scripts/ensure-chromium.sh), not PostgreSQL.
# Figures: bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./bench/widget "$@"
