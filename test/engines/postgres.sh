#!/usr/bin/env bash
# A throwaway PostgreSQL on 127.0.0.1 for the tests (test/helpers/postgres.ts) and the benchmark
# (bench/src/engines.ts), from Debian's server packages; trust authentication on loopback.
#   postgres.sh up DIR PORT      initdb in DIR/data, then start
#   postgres.sh start DIR PORT   start an existing DIR/data
#   postgres.sh stop DIR
# PostgreSQL refuses to run as root: as root it runs as the `postgres` user.
set -euo pipefail
cmd=$1 dir=$2 port=${3:-}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does)" >&2; exit 2; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case $cmd in
  up)
    mkdir -p "$dir/data"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi
    as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log"
    exec "$0" start "$dir" "$port" ;;
  start)
    # the socket directory is the data directory: /var/run/postgresql may not exist or be writable
    as_pg "$bin/pg_ctl" -D "$dir/data" -o "-p $port -c listen_addresses=127.0.0.1 -k $dir/data -c max_connections=300 -c shared_buffers=32MB" \
      -l "$dir/server.log" -w -t 60 start >/dev/null ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true ;;
  *) echo "usage: postgres.sh up|start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
