#!/usr/bin/env bash
# `make run`: everything a fresh checkout needs to serve a demo agent on :8787.
#  1. reads .env.local (written here, ignored by git), then the environment;
#  2. uses DATABASE_URL when it answers, else starts the compose PostgreSQL;
#  3. creates the database when missing; writes a dev SWITCHBOARD_ENCRYPTION_KEY when none is set;
#  4. migrates, creates what is missing of the seeded demo (org, agent, knowledge, tool; an
#     admin API key printed on the first run only), serves.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f .env.local ]; then set -a; . ./.env.local; set +a; fi
# The compose PostgreSQL's password (docker-compose.yml reads .env.local too): POSTGRES_PASSWORD
# for the PostgreSQL image, PGPASSWORD for the server and the tools.
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
  pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  printf 'POSTGRES_PASSWORD=%s\nPGPASSWORD=%s\n' "$pw" "$pw" >> .env.local
  export POSTGRES_PASSWORD="$pw" PGPASSWORD="$pw"
  echo "wrote a PostgreSQL password for the compose database to .env.local"
fi
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/switchboard?sslmode=disable}"
export SWITCHBOARD_LOG_FORMAT="${SWITCHBOARD_LOG_FORMAT:-text}"

set +e; go run ./scripts/ensuredb; rc=$?; set -e
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then exit "$rc"; fi
if [ "$rc" -eq 3 ]; then
  echo "PostgreSQL is not reachable; starting the compose PostgreSQL (docker compose up -d postgres)"
  docker compose up -d --wait postgres
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/switchboard?sslmode=disable" # password: PGPASSWORD
  for _ in $(seq 1 30); do go run ./scripts/ensuredb && break; sleep 1; done
fi

if [ -z "${SWITCHBOARD_ENCRYPTION_KEY:-}" ]; then
  key=$(head -c 32 /dev/urandom | base64)
  printf 'SWITCHBOARD_ENCRYPTION_KEY=%s\n' "$key" >> .env.local
  export SWITCHBOARD_ENCRYPTION_KEY="$key"
  echo "wrote a development SWITCHBOARD_ENCRYPTION_KEY to .env.local (keep it: secrets sealed with it need it)"
fi

mkdir -p bin
go build -o bin/switchboard ./cmd/switchboard
bin/switchboard migrate up >/dev/null
bin/switchboard demo
addr="${SWITCHBOARD_ADDR:-127.0.0.1:8787}"
echo "open http://${addr}/ and ask \"How do I embed the widget?\"; the API reference is at http://${addr}/docs"
if [ -z "${SWITCHBOARD_GATEWAY_KEY:-}${SMOOAI_GATEWAY_KEY:-}" ]; then
  echo "no gateway key: switchboard-demo, the offline demo model, answers (it quotes the knowledge base and runs"
  echo "  /tool <name> {json}); for a real model set SWITCHBOARD_GATEWAY_KEY (README: Connect a real model)"
fi
exec bin/switchboard serve
