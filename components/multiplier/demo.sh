#!/usr/bin/env bash
# The main job end to end on a fresh machine: build the multiplier component for wasm32-wasip1
# and the berth binary, stage a data folder, run the component under berth's WASI sandbox,
# show the output table. Leaves nothing behind but the build output.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

rustup target add wasm32-wasip1 >/dev/null 2>&1 || true
cargo build --quiet --release --target wasm32-wasip1 -p multiplier
# The dev profile shares its build with the test suite (dependencies are optimised there).
cargo build --quiet -p berth-cli --bin berth
berth="$CARGO_TARGET_DIR/debug/berth"
module="$CARGO_TARGET_DIR/wasm32-wasip1/release/multiplier.wasm"

job=$(mktemp -d)
trap 'rm -rf "$job"' EXIT
mkdir -p "$job/data/in/tables" "$job/data/in/files" "$job/data/out/tables" "$job/data/out/files"
cat > "$job/data/config.json" <<'JSON'
{"parameters": {"multiplier": 3, "column": "value"}, "action": "run"}
JSON
printf '"id","value"\n"1","2"\n"2","5"\n"3","7.5"\n' > "$job/data/in/tables/numbers.csv"
printf '{"id": "in.c-demo.numbers", "columns": ["id", "value"]}\n' > "$job/data/in/tables/numbers.csv.manifest"

echo "== berth exec multiplier.wasm (parameters.multiplier = 3)"
"$berth" --home "$job/home" exec "$module" --data-dir "$job/data"
echo "== out/tables/numbers.csv"
cat "$job/data/out/tables/numbers.csv"
echo "== synchronous action 'info'"
"$berth" --home "$job/home" exec "$module" --data-dir "$job/data" --action info
