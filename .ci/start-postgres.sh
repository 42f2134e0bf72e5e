#!/usr/bin/env bash
# Starts the throw-away PostgreSQL cluster the berth-postgres tests and benches talk to: Debian's
# PostgreSQL (initdb + pg_ctl, no systemd, no pg_ctlcluster config), bound to 127.0.0.1 only,
# trust authentication, superuser "berth". Tests create a database of their own each and drop it.
#
# Prints the URL to use (BERTH_TEST_POSTGRES_URL's default), e.g.
#   postgres://berth@127.0.0.1:5439/postgres
#
# Idempotent: a cluster that answers on the port is left alone. State lives under
# ${BERTH_POSTGRES_STATE:-${TMPDIR:-/tmp}/berth-test-postgres}/ (data/, postgres.log); the port is
# ${BERTH_TEST_POSTGRES_PORT:-5439}. The cluster is for tests: fsync is off (a crash of the
# machine may lose it, which only costs a re-initdb).
#
#   .ci/start-postgres.sh           start (if not running), print the URL
#   .ci/start-postgres.sh --stop    stop it and delete its state
#
# initdb refuses to run as root: as root, the cluster runs as the `postgres` system user (created
# by Debian's postgresql package; the script creates it if missing).
set -euo pipefail

PORT=${BERTH_TEST_POSTGRES_PORT:-5439}
STATE=${BERTH_POSTGRES_STATE:-${TMPDIR:-/tmp}/berth-test-postgres}
URL="postgres://berth@127.0.0.1:$PORT/postgres"

log() { echo "start-postgres: $*" >&2; }

bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n1 || true)
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    if [ "$(id -u)" != 0 ]; then
      log "PostgreSQL is not installed; install it with apt-get install postgresql"
      exit 1
    fi
    log "installing postgresql (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  fi
  echo "$dir"
}

answers() { "$1/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U berth -d postgres 2> /dev/null; }

# Runs "$@" as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local bin
  bin=$(bindir)
  if answers "$bin"; then
    echo "$URL"
    return
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres > /dev/null 2>&1; then
    useradd --system --home-dir "$STATE" --shell /usr/sbin/nologin postgres
  fi
  mkdir -p "$STATE"
  [ "$(id -u)" = 0 ] && chown postgres: "$STATE"
  chmod 700 "$STATE"
  if [ ! -f "$STATE/data/PG_VERSION" ]; then
    rm -rf "$STATE/data"
    as_owner "$bin/initdb" -D "$STATE/data" -U berth --auth=trust -E UTF8 --no-locale > "$STATE/initdb.log" 2>&1 || {
      log "initdb failed:"
      cat "$STATE/initdb.log" >&2
      return 1
    }
  fi
  # Several test binaries run at once, each test with its own database and a few connections.
  as_owner "$bin/pg_ctl" -D "$STATE/data" -l "$STATE/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$STATE -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start > /dev/null || {
    log "PostgreSQL did not start; log:"
    tail -n 30 "$STATE/postgres.log" >&2 || true
    return 1
  }
  for _ in $(seq 1 100); do
    if answers "$bin"; then
      echo "$URL"
      return
    fi
    sleep 0.1
  done
  log "PostgreSQL on 127.0.0.1:$PORT did not answer within 10 s; log:"
  tail -n 30 "$STATE/postgres.log" >&2 || true
  return 1
}

stop() {
  local bin
  bin=$(bindir)
  if [ -f "$STATE/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$STATE/data" -m fast -w stop > /dev/null || true
    log "stopped the cluster in $STATE/data"
  fi
  rm -rf "$STATE"
}

case "${1:-}" in
  --stop) stop ;;
  "") start ;;
  *)
    echo "usage: $0 [--stop]" >&2
    exit 2
    ;;
esac
