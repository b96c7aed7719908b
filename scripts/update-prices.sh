#!/bin/sh
# Refreshes src/llm/pricing/prices.json.gz, the compressed copy of genai-prices' dataset the
# binary ships (see src/llm/pricing/dataset.rs), from the genai-prices version in Cargo.lock.
# Run it after bumping the crate (and DATASET_LABEL); `cargo test --lib pricing` checks it.
set -eu
cd "$(dirname "$0")/.."
manifest=$(cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
print(next(p["manifest_path"] for p in meta["packages"] if p["name"] == "genai-prices"))')
gzip -9 -n -c "$(dirname "$manifest")/data/prices.json" > src/llm/pricing/prices.json.gz
echo "src/llm/pricing/prices.json.gz <- $(dirname "$manifest")/data/prices.json"
