#!/usr/bin/env bash
# scripts/demo.sh — build smolvlm-cli and describe an image.
#
#   scripts/demo.sh [MODEL_DIR] [IMAGE] [-- extra smolvlm-cli flags]
#
# MODEL_DIR: a Hugging Face SmolVLM / SmolVLM2 directory (config.json, model.safetensors,
# tokenizer.json, ...). When none is given, the script downloads
# HuggingFaceTB/SmolVLM2-256M-Video-Instruct with curl if the machine has internet; without
# internet it generates a model with random weights at the real 256M shape (the output is
# then gibberish, but every stage runs at full size and speed).
# IMAGE: PNG, JPEG or PPM; default: a generated test picture.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
build="$root/build-demo"

model="${1:-}"
image="${2:-}"
shift $(( $# > 2 ? 2 : $# )) || true
[ "${1:-}" = "--" ] && shift
extra=("$@")

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v ninja >/dev/null 2>&1 || need+=(ninja-build)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== building (Release)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSMOLVLM_BUILD_TESTS=OFF -DSMOLVLM_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$JOBS" --target smolvlm-cli make-random-model >/dev/null

if [ -z "$model" ]; then
  model="$build/models/SmolVLM2-256M-Video-Instruct"
  if [ ! -f "$model/model.safetensors" ]; then
    mkdir -p "$model"
    url="https://huggingface.co/HuggingFaceTB/SmolVLM2-256M-Video-Instruct/resolve/main"
    echo "== fetching SmolVLM2-256M-Video-Instruct"
    ok=1
    for f in config.json generation_config.json preprocessor_config.json processor_config.json tokenizer.json \
             tokenizer_config.json special_tokens_map.json added_tokens.json chat_template.json model.safetensors; do
      if ! curl -fsSL --connect-timeout 10 -o "$model/$f.part" "$url/$f"; then ok=0; break; fi
      mv "$model/$f.part" "$model/$f"
    done
    if [ "$ok" != 1 ]; then
      rm -rf "$model"
      model="$build/models/random-smolvlm-256m"
      echo "== no internet: generating a random-weight model at the SmolVLM-256M shape (gibberish output)"
      [ -f "$model/model.safetensors" ] || "$build/examples/make-random-model" "$model" --shape smolvlm-256m --seed 1
    fi
  fi
fi

if [ -z "$image" ]; then
  image="$build/demo.ppm"
  # A 128x96 colour gradient with a white square, written as binary PPM by bash alone.
  {
    printf 'P6\n128 96\n255\n'
    for ((y = 0; y < 96; y++)); do
      row=""
      for ((x = 0; x < 128; x++)); do
        if ((x >= 48 && x < 80 && y >= 32 && y < 64)); then r=255 g=255 b=255
        else r=$((x * 2)) g=$((y * 255 / 96)) b=$(((x + y) % 256)); fi
        row+=$(printf '\\%03o\\%03o\\%03o' "$r" "$g" "$b")
      done
      printf "$row"
    done
  } > "$image"
fi

echo "== describing $image with $model"
"$build/examples/smolvlm-cli" -m "$model" --image "$image" -p "Describe this image." -n 64 "${extra[@]}"
