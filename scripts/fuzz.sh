#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...] — build and run the libFuzzer targets.
# scripts/fuzz.sh --runs N [TARGET...]  — smoke mode (scripts/test.sh): the seeded corpus
#                                         plus N inputs per target, all from one fixed seed.
#
# Every tests/fuzz/<name>_fuzz.cpp is a target called <name> (json, safetensors, config,
# png...). With no TARGET, all of them run, one after another, each for SECONDS
# (default 60) on one core. Needs clang++ with libFuzzer (-fsanitize=fuzzer).
#
#   scripts/fuzz.sh 600 json safetensors config
#
# SMOLVLM_FUZZ_BUILD=DIR uses the CMake build in DIR (configured with -DSMOLVLM_BUILD_FUZZ=ON
# and clang++, as scripts/test.sh does) instead of configuring its own.
# Each target ends with one line "fuzz: <name>: ok ..." or "fuzz: <name>: FAILED ...", and the
# run with "fuzz: P passed, F failed". Seeding the corpus is part of a target's run: a seeding
# step that fails (a missing tool, an unreadable fixture) fails the target loudly.
#
# Corpora live in $SMOLVLM_FUZZ_DIR (default build-fuzz/) and grow across runs; they
# are seeded from the shared fixtures (config files, safetensors headers, GGUF heads, small
# images), a few inputs written here and tests/fuzz/corpus/<name>/. Crashes land in
# build-fuzz/artifacts/; to replay one:
#   build-fuzz/build/tests/fuzz/<name>_fuzz build-fuzz/artifacts/<name>-crash-...
# Exit status: 0 when no target found a problem.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs=60
runs=""
if [ "${1:-}" = "--runs" ]; then
  runs="${2:?--runs needs a count}"
  shift 2
elif [ $# -gt 0 ]; then
  secs="$1"
  shift
fi
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
build_targets=()
for t in "${targets[@]}"; do
  [ -f "$root/tests/fuzz/${t}_fuzz.cpp" ] || { echo "error: no tests/fuzz/${t}_fuzz.cpp" >&2; exit 1; }
  build_targets+=("${t}_fuzz")
done
build="${SMOLVLM_FUZZ_BUILD:-$out/build}"
if [ -z "${SMOLVLM_FUZZ_BUILD:-}" ]; then
  echo "== building ${targets[*]} with $CXX -fsanitize=fuzzer,address,undefined"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX" \
    -DSMOLVLM_BUILD_FUZZ=ON -DSMOLVLM_BUILD_EXAMPLES=OFF -DSMOLVLM_BUILD_BENCH=OFF -DSMOLVLM_INSTALL=OFF \
    -DSMOLVLM_SHARED_DIR="$shared" >/dev/null
fi
cmake --build "$build" -j "${JOBS:-2}" --target "${build_targets[@]}" | { grep -v '^ninja: no work to do' || true; }

# ---- seeds -----------------------------------------------------------------------------
# Small files only: libFuzzer's max_len follows the largest seed.
seed_file() {  # seed_file DIR FILE [MAXBYTES]
  local max="${3:-65536}"
  [ -f "$2" ] || return 0
  [ "$(stat -c %s "$2")" -le "$max" ] || return 0
  cp "$2" "$1/$(echo "$2" | sed 's|.*/shared/||; s|/|_|g')"
}
st_header_len() {  # st_header_len FILE: the JSON header's length (the first 8 bytes, little-endian)
  local n
  n=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
  [ -n "$n" ] || { echo "fuzz.sh: cannot read the header length of $1" >&2; return 1; }
  echo "$n"
}
# The header is cut with head alone, never `tail | head`: under pipefail, tail dies of SIGPIPE
# when head stops reading a large file (exit 141), which used to end the whole campaign.
st_header() {  # st_header DIR FILE: the 8-byte length + JSON header of a safetensors file, no data
  local n
  n=$(st_header_len "$2") || return 1
  [ "$n" -le 65536 ] || return 0
  head -c $((8 + n)) "$2" >"$1/$(echo "$2" | sed 's|.*/shared/||; s|/|_|g').hdr"
}
st_json() {  # st_json DIR FILE: the JSON header alone (a seed for the json target)
  local n
  n=$(st_header_len "$2") || return 1
  [ "$n" -le 65536 ] || return 0
  head -c $((8 + n)) "$2" | tail -c "$n" >"$1/$(echo "$2" | sed 's|.*/shared/||; s|/|_|g').json"
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
      if [ "$t" = json ]; then
        for f in "$shared"/fixtures/*/model/model.safetensors; do
          [ -f "$f" ] || continue
          st_json "$d" "$f" || return 1
        done
      fi
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
        [ -f "$f" ] || continue
        st_header "$d" "$f" || return 1
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
      # and even first byte: the rest is a tokenizer.json
      printf '\000{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"added_tokens":[{"id":3,"content":"<s>","special":true}]}' >"$d/tiny.json"
      ;;
    gguf)
      # Fixture GGUFs cut to their first 64 KB: the header and the first tensors of every block
      # type (the target pads inputs refused as truncated with zeros, so the rest reads as 0).
      for f in "$shared"/fixtures/gguf/quant_types/*.gguf "$shared"/fixtures/gguf/*/mmproj-*.gguf; do
        [ -f "$f" ] || continue
        head -c 65536 "$f" >"$d/$(echo "$f" | sed 's|.*/shared/||; s|/|_|g').head"
      done
      ;;
    bmp|gif|webp)  # the conformance corpus (tests/data/images/<format>/)
      for f in "$root"/tests/data/images/"$t"/*; do seed_file "$d" "$f"; done
      ;;
    *)  # image decoders and others: small fixture files with the target's extension
      local ext
      for ext in "$t" $([ "$t" = jpeg ] && echo jpg); do
        [ -d "$shared/fixtures" ] || break
        while IFS= read -r f; do
          if [ -n "$f" ]; then seed_file "$d" "$f"; fi
        done < <(find "$shared/fixtures" -iname "*.$ext" -size -64k | sort | awk 'NR <= 20')
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
  log="$out/$t.log"
  seed_rc=0
  if [ -z "$(ls -A "$corpus")" ]; then
    # In a subshell with errexit on (a function called in an `if` or `||` would run with it
    # off): any failing command of the seeding fails the target, and the trap names it.
    set +e
    (
      set -eE
      trap 'echo "fuzz.sh: seeding $t: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR
      seed "$t" "$corpus"
    )
    seed_rc=$?
    set -e
  fi
  if [ $seed_rc -ne 0 ]; then
    failed+=("$t")
    summary+=("$t: FAILED: seeding the corpus failed")
    echo "fuzz: $t: FAILED (seeding the corpus failed)"
    rm -rf "$corpus"  # seed again next time
    continue
  fi
  if [ -d "$root/tests/fuzz/corpus/$t" ]; then cp -n "$root/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true; fi
  bin="$build/tests/fuzz/${t}_fuzz"
  if [ ! -x "$bin" ]; then
    failed+=("$t")
    summary+=("$t: FAILED: $bin was not built")
    echo "fuzz: $t: FAILED (no $bin)"
    continue
  fi
  if [ -n "$runs" ]; then
    limit=(-runs="$runs" -seed=1)
    echo "== $t: the corpus ($(ls "$corpus" | wc -l) inputs) + $runs runs (log: $log)"
  else
    limit=(-max_total_time="$secs")
    echo "== $t: ${secs}s, $(ls "$corpus" | wc -l) inputs in the corpus (log: $log)"
  fi
  set +e
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$bin" "$corpus" "${limit[@]}" -max_len=65536 -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$t-" >"$log" 2>&1
  rc=$?
  set -e
  done_runs="$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 || true)"
  [ -n "$done_runs" ] || done_runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 || true)"
  cov="$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || true)"
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    summary+=("$t: FAILED (exit $rc) — $done_runs; see $log and $out/artifacts/")
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | awk 'NR <= 5' || true
    echo "fuzz: $t: FAILED (exit $rc)"
  else
    summary+=("$t: $done_runs; $cov")
    echo "fuzz: $t: ok ($done_runs)"
  fi
done

echo
if [ -n "$runs" ]; then echo "== fuzz summary (corpus + $runs runs per target)"; else echo "== fuzz summary (${secs}s per target)"; fi
printf '  %s\n' "${summary[@]}"
echo "fuzz: $(( ${#targets[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
[ "${#failed[@]}" -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
