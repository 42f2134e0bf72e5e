#!/usr/bin/env bash
# Several nodes, end to end: a throwaway PostgreSQL cluster (.ci/start-postgres.sh), a fresh
# database on it, two `berth serve` nodes sharing it (each with a home of its own), the
# `multiplier` component and four configurations registered through the CLI on the same database
# (BERTH_STORAGE_URL), 20 jobs queued alternately through both nodes' APIs, then where they ran
# and the output table. Both nodes are stopped and the database dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

rustup target add wasm32-wasip1 >/dev/null 2>&1 || true
cargo build --quiet --release --target wasm32-wasip1 -p multiplier
cargo build --quiet -p berth-cli --bin berth
berth="$CARGO_TARGET_DIR/debug/berth"
module="$CARGO_TARGET_DIR/wasm32-wasip1/release/multiplier.wasm"

cluster=$(bash .ci/start-postgres.sh)
database="berth_nodes_demo_$$"
psql -q "$cluster" -c "CREATE DATABASE $database"
db="${cluster%/*}/$database"

work=$(mktemp -d)
nodes=()
cleanup() {
  for pid in "${nodes[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$cluster" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== Storage on $db: a table, the component, four configurations (berth CLI, BERTH_STORAGE_URL)"
export BERTH_STORAGE_URL="$db"
export BERTH_HOME="$work/cli"
printf 'id,value\n1,2\n2,5\n3,7.5\n' > "$work/numbers.csv"
"$berth" table import in.c-demo.numbers "$work/numbers.csv"
cat > "$work/multiplier.json" <<JSON
{"id": "berth.multiplier", "name": "Multiplier", "image": "$module"}
JSON
"$berth" component add --file "$work/multiplier.json"
for n in 1 2 3 4; do
  cat > "$work/config.json" <<JSON
{"parameters": {"multiplier": $n, "column": "value"},
 "storage": {
   "input": {"tables": [{"source": "in.c-demo.numbers", "destination": "numbers.csv"}]},
   "output": {"tables": [{"source": "numbers.csv", "destination": "out.c-demo.times-$n"}]}}}
JSON
  "$berth" config create berth.multiplier --file "$work/config.json" --id "demo-$n"
done
unset BERTH_STORAGE_URL

echo "== two nodes: berth serve --storage $db --node node-a|node-b"
for node in node-a node-b; do
  extra=()
  [ "$node" = node-a ] && extra=(--init-token)
  "$berth" --home "$work/$node" serve --storage "$db" --node "$node" --listen 127.0.0.1:0 \
    --workers 2 "${extra[@]}" > "$work/$node.out" 2> "$work/$node.log" &
  nodes+=($!)
done
url() { # the URL a node printed
  until grep -q 'listening on' "$work/$1.out" 2>/dev/null; do sleep 0.1; done
  grep -o 'http://[^ ]*' "$work/$1.out" | head -n1
}
url_a=$(url node-a)
url_b=$(url node-b)
until grep -q 'admin token' "$work/node-a.out"; do sleep 0.1; done
token=$(sed -n 's/^admin token (shown once): //p' "$work/node-a.out")
head -n1 "$work/node-a.out" "$work/node-b.out"

echo "== 20 jobs, queued alternately through both nodes' APIs (POST /jobs)"
for i in $(seq 20); do
  url=$url_a; [ $((i % 2)) -eq 0 ] && url=$url_b
  curl -sf -H "X-StorageApi-Token: $token" -H 'Content-Type: application/json' \
    -d "{\"component\": \"berth.multiplier\", \"config\": \"demo-$((i % 4 + 1))\"}" \
    "$url/jobs" > /dev/null
done
until [ "$(psql -At "$db" -c "SELECT count(*) FROM berth_jobs WHERE finished IS NULL")" = 0 ]; do
  sleep 0.2
done

echo "== where the jobs ran (the queue's table in PostgreSQL)"
psql "$db" -c "SELECT node_id AS node, status, count(*) AS jobs FROM berth_jobs GROUP BY 1, 2 ORDER BY 1"
echo "== berth table export out.c-demo.times-3 (through node-b's API)"
"$berth" --url "$url_b" --token "$token" table export out.c-demo.times-3
