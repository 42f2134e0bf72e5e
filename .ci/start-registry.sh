#!/usr/bin/env bash
# Starts the throw-away OCI registries the image tests talk to (Debian's docker-registry,
# distribution v2.8), bound to loopback only, each with filesystem storage in its own directory:
#
#   open registry  ${BERTH_TEST_REGISTRY:-127.0.0.1:5000}       no auth
#   auth registry  ${BERTH_TEST_AUTH_REGISTRY:-127.0.0.1:5001}  htpasswd (bcrypt), user "berth",
#                                                               password "berth-test-password"
#
# Idempotent: a registry whose PID file names a live process that answers /v2/ is left alone.
# Prints the PID files, one per line. State lives under
# ${BERTH_REGISTRY_STATE:-${TMPDIR:-/tmp}/berth-test-registry}/<port>/ (config.yml, data/,
# htpasswd, registry.log, registry.pid).
#
#   .ci/start-registry.sh           start both (if not running)
#   .ci/start-registry.sh --stop    stop both and delete their state
#
# What it may install (as root, through apt-get, only when missing):
#   - docker-registry and skopeo (the skopeo test copies an OCI layout into the registry);
#   - apache2-utils, for `htpasswd -B`, only if neither `htpasswd` nor Debian's python3 with its
#     `crypt` module (bcrypt through libxcrypt, present on Debian 12) is available.
set -euo pipefail

OPEN_ADDR=${BERTH_TEST_REGISTRY:-127.0.0.1:5000}
AUTH_ADDR=${BERTH_TEST_AUTH_REGISTRY:-127.0.0.1:5001}
AUTH_USER=berth
AUTH_PASSWORD=berth-test-password
STATE=${BERTH_REGISTRY_STATE:-${TMPDIR:-/tmp}/berth-test-registry}

log() { echo "start-registry: $*" >&2; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    log "need $* but not root; install it with apt-get"
    exit 1
  fi
  log "installing $* (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_tools() {
  local missing=()
  command -v docker-registry > /dev/null || missing+=(docker-registry)
  command -v skopeo > /dev/null || missing+=(skopeo)
  command -v curl > /dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# A bcrypt htpasswd line for $AUTH_USER:$AUTH_PASSWORD.
htpasswd_line() {
  if command -v htpasswd > /dev/null; then
    htpasswd -nbB "$AUTH_USER" "$AUTH_PASSWORD" | head -n1
    return
  fi
  if [ -x /usr/bin/python3 ] && /usr/bin/python3 -W ignore -c 'import crypt' 2> /dev/null; then
    /usr/bin/python3 -W ignore - "$AUTH_USER" "$AUTH_PASSWORD" << 'EOF'
import crypt, sys
user, password = sys.argv[1], sys.argv[2]
hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
assert hashed.startswith("$2"), "libcrypt has no bcrypt"
print(f"{user}:{hashed}")
EOF
    return
  fi
  apt_install apache2-utils
  htpasswd -nbB "$AUTH_USER" "$AUTH_PASSWORD" | head -n1
}

answers() { # addr [auth]: /v2/ answers 200 (open registry) or 401 (auth registry)
  local code want=200
  [ "${2:-0}" = 1 ] && want=401
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$1/v2/" || true)
  [ "$code" = "$want" ]
}

start_one() { # addr auth(0|1)
  local addr=$1 auth=$2 dir pid_file
  dir="$STATE/${addr##*:}"
  pid_file="$dir/registry.pid"
  if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2> /dev/null && answers "$addr" "$auth"; then
    echo "$pid_file"
    return
  fi
  if answers "$addr" "$auth"; then
    # Most likely ours from a run whose state directory is gone; the tests only need the API.
    log "reusing the registry that already serves http://$addr/v2/ (no PID file)"
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir/data"
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: warn"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $dir/data"
    echo "  delete:"
    echo "    enabled: true"
    echo "  cache:"
    echo "    blobdescriptor: inmemory"
    echo "http:"
    echo "  addr: $addr"
    echo "  secret: berth-test-registry-secret"
    echo "  headers:"
    echo "    X-Content-Type-Options: [nosniff]"
    if [ "$auth" = 1 ]; then
      htpasswd_line > "$dir/htpasswd"
      echo "auth:"
      echo "  htpasswd:"
      echo "    realm: berth-test"
      echo "    path: $dir/htpasswd"
    fi
  } > "$dir/config.yml"
  docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
  echo $! > "$pid_file"
  for _ in $(seq 1 100); do
    if answers "$addr" "$auth"; then
      echo "$pid_file"
      return
    fi
    sleep 0.1
  done
  log "registry on $addr did not answer within 10 s; log:"
  cat "$dir/registry.log" >&2
  return 1
}

stop_all() {
  local pid_file
  for pid_file in "$STATE"/*/registry.pid; do
    [ -f "$pid_file" ] || continue
    kill "$(cat "$pid_file")" 2> /dev/null || true
    log "stopped $(cat "$pid_file") ($pid_file)"
  done
  rm -rf "$STATE"
}

case "${1:-}" in
  --stop) stop_all ;;
  "")
    ensure_tools
    start_one "$OPEN_ADDR" 0
    start_one "$AUTH_ADDR" 1
    ;;
  *)
    echo "usage: $0 [--stop]" >&2
    exit 2
    ;;
esac
