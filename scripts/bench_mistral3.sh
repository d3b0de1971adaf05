#!/usr/bin/env bash
# scripts/bench_mistral3.sh — Mistral Small 3.1 (24B) at its real shape on this machine, beside llama.cpp.
#
#   scripts/bench_mistral3.sh [--build DIR] [--cache DIR] [-t THREADS] [-N RUNS] [--gen N]
#                             [--no-rss8k] [--no-vision] [--no-llama]
#   LLAMA_CPP_DIR=/work/llama.cpp scripts/bench_mistral3.sh     (llama.cpp's build/bin tools)
#
# Models (random weights, written once into the cache dir, default BUILD/bench-cache-m3):
#   ms31_q4/        make-random-model --shape mistral-small-3.1 --dtype q4: the real shapes written
#                   directly as a prequantized q4 directory (8 shards, ~14.8 GB), and
#   ms31_q4_0.gguf  the same text decoder as a GGUF (Q4_0, output Q8_0, BF16 embeddings) for llama.cpp
#   vb_q4/, vb.gguf the real Pixtral tower + projector over a one-layer 5120-wide decoder (vision timing)
#   vb_bf16/        the same shape in bf16, converted by llama.cpp's convert_hf_to_gguf.py --mmproj
#                   (projector type pixtral) when LLAMA_CPP_DIR is given
# Runs (interleaved with llama.cpp, RUNS times, medians):
#   prefill   smolvlm-cli -f PROMPT(512 tokens) -n 0          | llama-bench -p 512 -n 0
#   decode    smolvlm-cli ... -n GEN after the 512-token prompt | llama-bench -p 0 -n GEN -d 512
#   load      smolvlm-cli's load_ms (mmap; no conversion)
#   rss8k     smolvlm-cli -c 8192 -ctk f16 -ctv f16 with a ~8000-token prompt: peak RSS
#   vision    one 1540 x 1540 image: smolvlm-cli image_encode_ms | llama-mtmd-cli's encode time
# and prints the ratios (> 1: ours faster) and decode against the DRAM bound: bytes of weights
# read per token (text layers + lm_head, from the files) x tok/s / DRAM read bandwidth
# (/work/shared/bench/ANCHORS.md: 32.5 GB/s 1 thread, 63.5 GB/s 2 threads, huge pages).
#
# The machine is shared (2 cores, several engineers): the script prints the load average;
# compare ratios from one run, not absolute figures across days.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
cache=""
threads=2
runs=3
gen=32
rss8k=1
vision=1
llama=1
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift ;;
        --cache) cache="$2"; shift ;;
        -t) threads="$2"; shift ;;
        -N) runs="$2"; shift ;;
        --gen) gen="$2"; shift ;;
        --no-rss8k) rss8k=0 ;;
        --no-vision) vision=0 ;;
        --no-llama) llama=0 ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) echo "bench_mistral3.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$cache" ] || cache="$build/bench-cache-m3"
mkdir -p "$cache"
cli="$build/examples/smolvlm-cli"
mk="$build/examples/make-random-model"
[ -x "$cli" ] && [ -x "$mk" ] || { echo "build smolvlm-cli and make-random-model in $build first" >&2; exit 2; }
L="${LLAMA_CPP_DIR:-}"
[ -n "$L" ] && [ -x "$L/build/bin/llama-bench" ] || llama=0
bw=$([ "$threads" = 1 ] && echo 32.5 || echo 63.5)

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg); threads $threads; runs $runs; llama.cpp: $([ $llama = 1 ] && echo "$L" || echo no)"
[ -f "$cache/ms31_q4/config.json" ] || "$mk" "$cache/ms31_q4" --shape mistral-small-3.1 --dtype q4 --gguf "$cache/ms31_q4_0.gguf"

# Weight bytes per decoded token: every text-layer matrix and the head (packed panels + scales).
decode_bytes=$(python3 - "$cache/ms31_q4" <<'EOF'
import glob, json, struct, sys
n = 0
for f in glob.glob(sys.argv[1] + "/*.safetensors"):
    with open(f, "rb") as fp:
        h = json.loads(fp.read(struct.unpack("<Q", fp.read(8))[0]))
    for k, v in h.items():
        if k != "__metadata__" and k.startswith("language_model.") and ("_panels" in k or "_scales" in k):
            n += v["data_offsets"][1] - v["data_offsets"][0]
print(n)
EOF
)
echo "decode reads $(python3 -c "print(round($decode_bytes/1e9,2))") GB of weights per token: DRAM bound $(python3 -c "print(round($bw/($decode_bytes/1e9),2))") tok/s at $bw GB/s"

# A 512-token prompt (the generated tokenizer: about one token per byte) and an ~8000-token one.
prompt="$cache/prompt512.txt"
python3 -c "
import random; random.seed(1)
w='the a image cat dog picture this of and in is to what'.split()
s=' '.join(random.choice(w) for _ in range(490))
open('$prompt','w').write(s)"
field() { python3 -c "import json,sys; d=json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1]); print(d[sys.argv[2]])" "$1" "$2"; }
median() { python3 -c "import statistics,sys; print(round(statistics.median(float(x) for x in sys.argv[1:]),2))" "$@"; }

pp=(); tg=(); ld=(); lpp=(); ltg=()
for r in $(seq 1 "$runs"); do
    "$cli" -m "$cache/ms31_q4" -f "$prompt" -sys " " -n "$gen" --ignore-eos --temp 0 -t "$threads" --json-timings \
        --date 2026-12-07 > /dev/null 2> "$cache/ours.json"
    pp+=("$(field "$cache/ours.json" prefill_tok_s)"); tg+=("$(field "$cache/ours.json" decode_tok_s)")
    ld+=("$(field "$cache/ours.json" load_ms)")
    ptok=$(field "$cache/ours.json" prompt_tokens)
    if [ $llama = 1 ]; then
        "$L/build/bin/llama-bench" -m "$cache/ms31_q4_0.gguf" -p 512 -n 0 -t "$threads" -r 1 -o json > "$cache/lpp.json" 2>/dev/null
        "$L/build/bin/llama-bench" -m "$cache/ms31_q4_0.gguf" -p 0 -n "$gen" -d 512 -t "$threads" -r 1 -o json > "$cache/ltg.json" 2>/dev/null
        lpp+=("$(python3 -c "import json; print(json.load(open('$cache/lpp.json'))[0]['avg_ts'])")")
        ltg+=("$(python3 -c "import json; print(json.load(open('$cache/ltg.json'))[0]['avg_ts'])")")
    fi
done
echo "prompt: $ptok tokens"
P=$(median "${pp[@]}"); T=$(median "${tg[@]}")
echo "ours      prefill $P tok/s   decode $T tok/s ($(python3 -c "print(round(100*$T*$decode_bytes/1e9/$bw,1))")% of the DRAM bound)   load $(median "${ld[@]}") ms"
if [ $llama = 1 ]; then
    LP=$(median "${lpp[@]}"); LT=$(median "${ltg[@]}")
    echo "llama.cpp prefill $LP tok/s   decode $LT tok/s (Q4_0, depth 512)"
    echo "ratio     prefill $(python3 -c "print(round($P/$LP,2))")x   decode $(python3 -c "print(round($T/$LT,2))")x"
fi

if [ $rss8k = 1 ]; then
    long="$cache/prompt8k.txt"
    python3 -c "
import random; random.seed(2)
w='the a image cat dog picture this of and in is to what'.split()
open('$long','w').write(' '.join(random.choice(w) for _ in range(7900)))"
    "$cli" -m "$cache/ms31_q4" -f "$long" -sys " " -n 16 --ignore-eos --temp 0 -t "$threads" -c 8192 -ctk f16 -ctv f16 \
        --json-timings --date 2026-12-07 > /dev/null 2> "$cache/rss.json"
    echo "8k context (f16 KV): $(field "$cache/rss.json" prompt_tokens) prompt tokens, peak RSS $(field "$cache/rss.json" peak_rss_mb) MB, prefill $(field "$cache/rss.json" prefill_tok_s) tok/s"
fi

if [ $vision = 1 ]; then
    [ -f "$cache/vb_q4/config.json" ] || "$mk" "$cache/vb_q4" --shape mistral3-vision-bench --dtype q4 --gguf "$cache/vb.gguf"
    img="$cache/img1540.ppm"
    python3 -c "
import random; random.seed(3)
w=h=1540
open('$img','wb').write(b'P6 %d %d 255\n' % (w, h) + bytes(random.getrandbits(8) for _ in range(w*h*3)))"
    "$cli" -m "$cache/vb_q4" --image "$img" -p "x" -sys " " -n 1 -t "$threads" --json-timings --date 2026-12-07 > /dev/null 2> "$cache/vis.json"
    V=$(field "$cache/vis.json" image_encode_ms)
    echo "ours      Pixtral 1540x1540 (q4 tower, int8 attention): $V ms"
    if [ $llama = 1 ] && [ -x "$L/build/bin/llama-mtmd-cli" ]; then
        if [ ! -f "$cache/mmproj-vb.gguf" ]; then
            [ -f "$cache/vb_bf16/config.json" ] || "$mk" "$cache/vb_bf16" --shape mistral3-vision-bench --dtype bf16
            python3 "$L/convert_hf_to_gguf.py" "$cache/vb_bf16" --mmproj --outtype q8_0 --outfile "$cache/mmproj-vb.gguf" > "$cache/convert.log" 2>&1 ||
                "${PYTHON:-/work/venv/bin/python}" "$L/convert_hf_to_gguf.py" "$cache/vb_bf16" --mmproj --outtype q8_0 \
                    --outfile "$cache/mmproj-vb.gguf" > "$cache/convert.log" 2>&1 || true
        fi
        if [ -f "$cache/mmproj-vb.gguf" ]; then
            "$L/build/bin/llama-mtmd-cli" -m "$cache/vb.gguf" --mmproj "$cache/mmproj-vb.gguf" --image "$img" -p x -n 1 \
                -t "$threads" > "$cache/mtmd.log" 2>&1 || true
            LV=$(grep -oE "encoded in [0-9]+ ms" "$cache/mtmd.log" | grep -oE "[0-9]+" | head -1 || true)
            echo "llama.cpp Pixtral 1540x1540 (mmproj Q8_0): ${LV:-?} ms"
            [ -n "$LV" ] && echo "ratio     vision $(python3 -c "print(round($LV/$V,2))")x (llama.cpp ms / ours)"
        else
            echo "llama.cpp: --mmproj conversion failed (see $cache/convert.log)"
        fi
    fi
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
