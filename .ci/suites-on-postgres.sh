#!/usr/bin/env bash
# Runs the job runner's and the server's test suites again with every test home on PostgreSQL
# (BERTH_TEST_STORAGE=postgres: each test gets a fresh database of the test cluster), so the
# behaviour they check holds on shared Storage as on the embedded one. Reuses the test build of
# `cargo test --workspace`; the test binaries are found through cargo's JSON messages (building
# them with `-p` would resolve features differently and rebuild DuckDB).
set -euo pipefail
cd "$(dirname "$0")/.."

export BERTH_TEST_STORAGE=postgres
export BERTH_REQUIRE_POSTGRES=1

# One line per suite: "<crate dir> <test binary>".
suites=$(cargo test --workspace --test all --no-run --message-format=json 2>/dev/null \
  | grep -E '"package_id":"[^"]*/runtime/(job|server)#' \
  | sed -E 's|.*"package_id":"[^"]*/(runtime/[a-z]+)#.*"executable":"([^"]+)".*|\1 \2|' \
  | grep -E '^runtime/(job|server) /')
if [ "$(printf '%s\n' "$suites" | grep -c .)" -ne 2 ]; then
  echo "expected the test binaries of berth-job and berth-server, found: $suites" >&2
  exit 1
fi
while read -r dir binary; do
  echo "== the $dir suite with its homes on PostgreSQL"
  # Each suite runs from its crate's directory, as `cargo test` runs it.
  (cd "$dir" && "$binary")
done <<<"$suites"
