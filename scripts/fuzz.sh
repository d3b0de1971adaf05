#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...] — build and run the libFuzzer targets.
#
# Every tests/fuzz/<name>_fuzz.cpp is a target called <name> (json, safetensors, config,
# png...). With no TARGET, all of them run, one after another, each for SECONDS
# (default 60) on one core. Needs clang++ with libFuzzer (-fsanitize=fuzzer).
#
#   scripts/fuzz.sh 600 json safetensors config
#
# Corpora live in $SMOLVLM_FUZZ_DIR (default build-fuzz/) and grow across runs; they
# are seeded from the shared fixtures (config files, safetensors headers, GGUF heads, small
# images), a few inputs written here and tests/fuzz/corpus/<name>/. Crashes land in
# build-fuzz/artifacts/; to replay one:
#   build-fuzz/build/tests/fuzz/<name>_fuzz build-fuzz/artifacts/<name>-crash-...
# Exit status: 0 when no target found a problem.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-60}"
[ $# -gt 0 ] && shift
out="${SMOLVLM_FUZZ_DIR:-$root/build-fuzz}"
shared="${SMOLVLM_SHARED:-$root/../shared}"
CXX="${CXX_FUZZ:-clang++}"

all_targets=()
for f in "$root"/tests/fuzz/*_fuzz.cpp; do
  n="$(basename "$f" _fuzz.cpp)"
  all_targets+=("$n")
done
targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=("${all_targets[@]}")

# ---- build (only the requested targets) ----------------------------------------------
echo "== building ${targets[*]} with $CXX -fsanitize=fuzzer,address,undefined"
cmake -S "$root" -B "$out/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX" \
  -DSMOLVLM_BUILD_FUZZ=ON -DSMOLVLM_BUILD_EXAMPLES=OFF -DSMOLVLM_BUILD_BENCH=OFF -DSMOLVLM_INSTALL=OFF \
  -DSMOLVLM_SHARED_DIR="$shared" >/dev/null
build_targets=()
for t in "${targets[@]}"; do
  [ -f "$root/tests/fuzz/${t}_fuzz.cpp" ] || { echo "error: no tests/fuzz/${t}_fuzz.cpp" >&2; exit 1; }
  build_targets+=("${t}_fuzz")
done
cmake --build "$out/build" -j "${JOBS:-2}" --target "${build_targets[@]}"

# ---- seeds -----------------------------------------------------------------------------
# Small files only: libFuzzer's max_len follows the largest seed.
seed_file() {  # seed_file DIR FILE [MAXBYTES]
  local max="${3:-65536}"
  [ -f "$2" ] || return 0
  [ "$(stat -c %s "$2")" -le "$max" ] || return 0
  cp "$2" "$1/$(echo "$2" | sed 's|.*/shared/||; s|/|_|g')"
}
st_header() {  # st_header DIR FILE: the 8-byte length + JSON header of a safetensors file, no data
  local n
  n=$(od -An -t u8 -N 8 "$2" | tr -d ' ')
  [ -n "$n" ] && [ "$n" -le 65536 ] || return 0
  head -c $((8 + n)) "$2" >"$1/$(echo "$2" | sed 's|.*/shared/||; s|/|_|g').hdr"
}
tiny_st() {  # tiny_st FILE JSON DATA-BYTES: a complete small safetensors file
  local h="$2"
  while [ $(( (${#h} + 8) % 8 )) -ne 0 ]; do h="$h "; done
  local n=${#h}
  { printf "$(printf '\\x%02x\\x%02x\\x00\\x00\\x00\\x00\\x00\\x00' $((n & 255)) $((n >> 8)))"
    printf '%s' "$h"; head -c "$3" /dev/urandom; } >"$1"
}

seed() {  # seed TARGET DIR
  local t="$1" d="$2"
  case "$t" in
    json|config)
      for f in "$shared"/fixtures/*/model/*.json "$shared"/models/*/*.json "$shared"/fixtures/*/golden.json \
               "$shared"/fixtures/_unit/*.json; do
        case "$t:$(basename "$f")" in
          config:config.json|config:generation_config.json|json:*) seed_file "$d" "$f" ;;
        esac
      done
      [ "$t" = json ] && for f in "$shared"/fixtures/*/model/model.safetensors; do
        [ -f "$f" ] && n=$(od -An -t u8 -N 8 "$f" | tr -d ' ') && tail -c +9 "$f" | head -c "$n" >"$d/$(echo "$f" | sed 's|.*/shared/||; s|/|_|g').json"
      done
      printf '{"a":[1,-0,2.5e-3,true,null,"\\u00e9\\ud83d\\ude00"],"b":{}}' >"$d/handmade.json"
      # Tiny models (fixture configs imply ~3M parameters; these reach bind_weights quickly).
      printf '%s' '{"model_type":"idefics3","scale_factor":2,"image_token_id":100,"text_config":{"vocab_size":128,"hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2},"vision_config":{"hidden_size":16,"intermediate_size":32,"num_hidden_layers":1,"num_attention_heads":2,"image_size":32,"patch_size":8}}' >"$d/tiny_vlm.json"
      printf '%s' '{"model_type":"smolvlm","scale_factor":2,"image_token_id":5,"tie_word_embeddings":true,"text_config":{"vocab_size":64,"hidden_size":16,"intermediate_size":32,"num_hidden_layers":1,"num_attention_heads":2,"attention_bias":true,"mlp_bias":true},"vision_config":{"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"image_size":16,"patch_size":4}}' >"$d/tiny_smolvlm.json"
      printf '%s' '{"model_type":"smollm3","vocab_size":64,"hidden_size":16,"intermediate_size":32,"num_hidden_layers":4,"num_attention_heads":2,"num_key_value_heads":1,"no_rope_layer_interval":4}' >"$d/tiny_smollm3.json"
      printf '%s' '{"model_type":"llama","vocab_size":64,"hidden_size":16,"intermediate_size":32,"num_hidden_layers":2,"num_attention_heads":2,"tie_word_embeddings":false,"head_dim":4}' >"$d/tiny_llama.json"
      ;;
    safetensors)
      for f in "$shared"/fixtures/*/model/model.safetensors "$shared"/fixtures/*/golden.safetensors \
               "$shared"/fixtures/_unit/*.safetensors; do
        [ -f "$f" ] && st_header "$d" "$f"
      done
      tiny_st "$d/tiny_f32.st" '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]}}' 22
      tiny_st "$d/tiny_i64.st" '{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"m":{"dtype":"U8","shape":[1,3],"data_offsets":[16,19]},"e":{"dtype":"F16","shape":[0],"data_offsets":[19,19]}}' 19
      ;;
    regex)  # pattern, a 0 byte, subject: the tokenizer patterns of the shipped models
      printf "'s|'t|'re|'ve|'m|'ll|'d| ?\\\\p{L}+| ?\\\\p{N}+| ?[^\\\\s\\\\p{L}\\\\p{N}]+|\\\\s+(?!\\\\S)|\\\\s+\\0Hello world's 123 \\xe6\\x97\\xa5\\n" >"$d/gpt2"
      printf "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\\0I'M 12345  x\\r\\n" >"$d/llama3"
      printf "(a|b)*?c|x{2,}+|(?>a+)b|(?=x)\\\\w|[^\\\\p{Lu}\\\\p{M}]+\\0aab xxx \\xe2\\x80\\xa8" >"$d/mixed"
      ;;
    tokenizer)  # odd first byte: text for the fixed tokenizer
      printf "\\x01Hello <x> world 123 w\\xc3\\xa9 <xy>  's \\xff" >"$d/text"
      ;;
    gguf)
      # Fixture GGUFs cut to their first 64 KB: the header and the first tensors of every block
      # type (the target pads inputs refused as truncated with zeros, so the rest reads as 0).
      for f in "$shared"/fixtures/gguf/quant_types/*.gguf "$shared"/fixtures/gguf/*/mmproj-*.gguf; do
        [ -f "$f" ] && head -c 65536 "$f" >"$d/$(echo "$f" | sed 's|.*/shared/||; s|/|_|g').head"
      done
      ;;
    bmp|gif|webp)  # the conformance corpus (tests/data/images/<format>/)
      for f in "$root"/tests/data/images/"$t"/*; do seed_file "$d" "$f"; done
      ;;
    *)  # image decoders and others: fixture files with the target's extension
      for f in $(find "$shared/fixtures" -iname "*.$t" -size -64k 2>/dev/null | head -20); do
        seed_file "$d" "$f"
      done
      [ "$t" = jpeg ] && for f in $(find "$shared/fixtures" -iname "*.jpg" -size -64k 2>/dev/null | head -20); do
        seed_file "$d" "$f"
      done
      ;;
  esac
  return 0
}

# ---- run ---------------------------------------------------------------------------------
mkdir -p "$out/artifacts"
failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  mkdir -p "$corpus"
  [ -n "$(ls -A "$corpus")" ] || seed "$t" "$corpus"
  [ -d "$root/tests/fuzz/corpus/$t" ] && cp -n "$root/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
  log="$out/$t.log"
  echo "== $t: ${secs}s, $(ls "$corpus" | wc -l) inputs in the corpus (log: $log)"
  bin="$(find "$out/build" -name "${t}_fuzz" -type f -perm -u+x -print -quit)"
  set +e
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$bin" "$corpus" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$t-" >"$log" 2>&1
  rc=$?
  set -e
  runs="$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 || true)"
  [ -n "$runs" ] || runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 || true)"
  cov="$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || true)"
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    summary+=("$t: FAILED (exit $rc) — $runs; see $log and $out/artifacts/")
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 || true
  else
    summary+=("$t: $runs; $cov")
  fi
done

echo
echo "== fuzz summary (${secs}s per target)"
printf '  %s\n' "${summary[@]}"
[ "${#failed[@]}" -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
