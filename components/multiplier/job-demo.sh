#!/usr/bin/env bash
# The main job on the embedded Storage, end to end: import a sample table, register the
# `multiplier` component and a configuration with an input and an output mapping, run the job
# with `berth run`, show the output table and the job record. Uses a throwaway berth home.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

rustup target add wasm32-wasip1 >/dev/null 2>&1 || true
cargo build --quiet --release --target wasm32-wasip1 -p multiplier
# The dev profile shares its build with the test suite (dependencies are optimised there).
cargo build --quiet -p berth-cli --bin berth
berth="$CARGO_TARGET_DIR/debug/berth"
module="$CARGO_TARGET_DIR/wasm32-wasip1/release/multiplier.wasm"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export BERTH_HOME="$work/home"

printf 'id,value\n1,2\n2,5\n3,7.5\n' > "$work/numbers.csv"
cat > "$work/multiplier.json" <<JSON
{"id": "berth.multiplier", "name": "Multiplier", "image": "$module", "synchronous_actions": ["info"]}
JSON
cat > "$work/config.json" <<'JSON'
{"parameters": {"multiplier": 3, "column": "value"},
 "storage": {
   "input": {"tables": [{"source": "in.c-demo.numbers", "destination": "numbers.csv"}]},
   "output": {"tables": [{"source": "numbers.csv", "destination": "out.c-demo.tripled",
                          "incremental": true, "primary_key": ["id"]}]}}}
JSON

echo "== berth table import in.c-demo.numbers"
"$berth" table import in.c-demo.numbers "$work/numbers.csv"
"$berth" component add --file "$work/multiplier.json"
"$berth" config create berth.multiplier --file "$work/config.json" --id demo
echo "== berth run berth.multiplier --config demo"
"$berth" run berth.multiplier --config demo
echo "== berth table export out.c-demo.tripled"
"$berth" table export out.c-demo.tripled
echo "== berth job ls"
"$berth" job ls
echo "== berth action berth.multiplier info --config demo"
"$berth" action berth.multiplier info --config demo
