#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: initdb + pg_ctl as the postgres
# user on a free loopback port, a fresh database, and ZKVOTE_TEST_POSTGRES_URL and
# ZKVOTE_BENCH_POSTGRES_URL pointing at it. The cluster is removed afterwards.
# Needs PostgreSQL's server binaries; as root on Debian they are installed if missing.
set -euo pipefail

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if { [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; } && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL's server (apt-get install postgresql)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  # The package starts its own cluster; only throwaway clusters are used here.
  if command -v service >/dev/null 2>&1; then service postgresql stop >/dev/null 2>&1 || true; fi
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  echo "PostgreSQL server binaries not found (install the 'postgresql' package)" >&2
  exit 1
fi
pgdir=$(mktemp -d /tmp/zkvote-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = "0" ]; then
  chown postgres "$pgdir"
  runas=(su postgres -s /bin/sh -c)
else
  runas=(sh -c)
fi
"${runas[@]}" "$pgbin/initdb -D $pgdir/data -U postgres -A trust --no-sync >$pgdir/initdb.log 2>&1"
"${runas[@]}" "$pgbin/pg_ctl -D $pgdir/data -l $pgdir/server.log -w -o '-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=200' start >/dev/null"
cleanup() { "${runas[@]}" "$pgbin/pg_ctl -D $pgdir/data -m fast stop >/dev/null" || true; rm -rf "$pgdir"; }
trap cleanup EXIT
"${runas[@]}" "$pgbin/psql -h 127.0.0.1 -p $port -U postgres -c 'CREATE DATABASE zkvote' >/dev/null"
export ZKVOTE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/zkvote"
export ZKVOTE_BENCH_POSTGRES_URL="$ZKVOTE_TEST_POSTGRES_URL"
"$@"
