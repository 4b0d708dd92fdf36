#!/usr/bin/env bash
# Make sure what the tests need is up: PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`).
# The Kafka-protocol broker (Tansu) is started by the test fixtures themselves.
set -euo pipefail
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "PostgreSQL is down; starting it" >&2
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
fi
pg_isready -h 127.0.0.1 -p 5432
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test"

# docker-compose (the Debian package) validates docker-compose.yml in the tests.
if ! command -v docker-compose >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing docker-compose (to validate docker-compose.yml)" >&2
  (apt-get install -y -qq docker-compose >/dev/null 2>&1 \
     || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq docker-compose >/dev/null 2>&1)) \
     || echo "could not install docker-compose" >&2
fi
