#!/usr/bin/env bash
# A throw-away PostgreSQL cluster on 127.0.0.1 for the tests that need one (the PostgreSQL
# datastore and the multi-worker sweep tests read PATROL_TEST_PG_URL).
#
#   scripts/pg-test-server.sh start [DIR]   # prints `export PATROL_TEST_PG_URL=...` lines
#   scripts/pg-test-server.sh stop  [DIR]
#   scripts/pg-test-server.sh restart [DIR] # stop and start the same cluster (same port)
#
#   eval "$(scripts/pg-test-server.sh start)"   # then run the tests; stop when done
#
# TLS (the sslmode tests): with PATROL_PG_SSL_CERT and PATROL_PG_SSL_KEY naming a PEM server
# certificate and key, `start` copies them into DIR and starts the server with ssl=on.
#
# DIR defaults to $PATROL_PG_DIR or /tmp/patrol-pg-test. The server binaries are Debian's: on
# PATH (/usr/local/bin here) or under /usr/lib/postgresql/NN/bin after `apt-get install
# postgresql`. initdb refuses to run as root, so as root the cluster runs as the `postgres`
# user (created when missing). Authentication is `trust` on loopback only: the cluster is
# for tests, listens on 127.0.0.1 alone, and is removed by `stop`.
set -euo pipefail

cmd=${1:-}
dir=${2:-${PATROL_PG_DIR:-/tmp/patrol-pg-test}}

find_bin() {
  local name=$1 d
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/$name" ]; then echo "$d/$name"; return; fi
  done
  echo "pg-test-server: $name not found (apt-get install -y postgresql)" >&2
  exit 1
}

# Runs a command as the cluster's owner: ourselves unless we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"; else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start() {
  local initdb pg_ctl port
  initdb=$(find_bin initdb)
  pg_ctl=$(find_bin pg_ctl)
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  fi
  if [ -f "$dir/port" ] && [ -f "$dir/data/PG_VERSION" ]; then
    # An existing cluster (restart): same data, same port.
    port=$(cat "$dir/port")
  else
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "$initdb" -D "$dir/data" -U patrol --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2; exit 1; }
    port=$(free_port)
    echo "$port" >"$dir/port"
  fi
  local ssl=""
  if [ -n "${PATROL_PG_SSL_CERT:-}" ] && [ -n "${PATROL_PG_SSL_KEY:-}" ]; then
    # The server refuses a key others can read; as root the copies are the postgres user's.
    install -m 0644 "$PATROL_PG_SSL_CERT" "$dir/server.crt"
    install -m 0600 "$PATROL_PG_SSL_KEY" "$dir/server.key"
    [ "$(id -u)" = 0 ] && chown postgres "$dir/server.crt" "$dir/server.key"
    ssl="-c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
  fi
  # Sockets in the cluster's own directory: /var/run/postgresql may not exist or be ours.
  as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200 $ssl" start >/dev/null || {
    cat "$dir/server.log" >&2; exit 1; }
  if ! as_owner psql -h 127.0.0.1 -p "$port" -U patrol -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'patrol'" | grep -q 1; then
    as_owner psql -q -h 127.0.0.1 -p "$port" -U patrol -d postgres -c "CREATE DATABASE patrol" >/dev/null
  fi
  echo "export PATROL_TEST_PG_URL=postgres://patrol@127.0.0.1:$port/patrol"
  echo "export PATROL_TEST_PG_DIR=$dir"
}

stop() {
  local pg_ctl
  pg_ctl=$(find_bin pg_ctl)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop; rm -rf "$dir" ;;
  restart)
    # The same cluster and port: what the "database restarts mid-sweep" test needs.
    stop; start >/dev/null ;;
  *) echo "usage: $0 start|stop|restart [DIR]" >&2; exit 2 ;;
esac
