#!/usr/bin/env bash
# scripts/bench_images.sh [BUILD_DIR] — image decode (+ SmolVLM preprocessing) speed beside
# libjpeg-turbo's djpeg and Pillow, in one run, on a 12-megapixel photo-like JPEG and PNG.
#
# Makes the two files with Pillow (Debian python3-pil; a smooth plasma-like picture with
# detail, 4000x3000), then for each: median of 5 runs, one thread, CPU time where the tool
# reports it. The issue's target: our JPEG decode within 1.3x of djpeg on one thread.
# Needs libjpeg-turbo-progs and python3-pil (installed when missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build-perf}"
work="$build/bench-images"
mkdir -p "$work"
need=()
command -v djpeg >/dev/null 2>&1 || need+=(libjpeg-turbo-progs)
python3 -c "import PIL" 2>/dev/null || need+=(python3-pil)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x "$build/bench/smolvlm-bench" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSMOLVLM_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target smolvlm-bench >/dev/null
fi
jpg="$work/photo_4000x3000.jpg"
png="$work/photo_4000x3000.png"
[ -f "$jpg" ] && [ -f "$png" ] || python3 - "$jpg" "$png" <<'PY'
import sys, math, random
from PIL import Image, ImageFilter
W, H = 4000, 3000
random.seed(1)
small = Image.new("RGB", (W // 16, H // 16))
px = small.load()
for y in range(H // 16):
    for x in range(W // 16):
        px[x, y] = (int(128 + 100 * math.sin(x / 17.0) * math.cos(y / 23.0)) & 255,
                    int(128 + 90 * math.sin((x + y) / 31.0)) & 255,
                    (x * y // 7 + random.randint(0, 40)) & 255)
img = small.resize((W, H), Image.Resampling.BICUBIC)
noise = Image.effect_noise((W, H), 24).convert("RGB")
img = Image.blend(img, noise, 0.15).filter(ImageFilter.DETAIL)
img.save(sys.argv[1], quality=90, subsampling=2)   # baseline 4:2:0
img.save(sys.argv[2], compress_level=6)
PY
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cpu_ms() { /usr/bin/time -f "%U %S" "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f\n", ($1 + $2) * 1000}'; }
echo "== 12-megapixel images, one thread, median of 5 (CPU ms)"
for f in "$jpg" "$png"; do
  echo "-- $(basename "$f") ($(( $(stat -c %s "$f") / 1024 )) KiB)"
  if [[ "$f" == *.jpg ]]; then
    d=$(for i in 1 2 3 4 5; do cpu_ms djpeg -outfile /dev/null "$f"; done | median)
    echo "  djpeg (libjpeg-turbo)            : $d ms"
  fi
  p=$(for i in 1 2 3 4 5; do python3 -c "
import sys, time
from PIL import Image
t = time.process_time(); im = Image.open(sys.argv[1]); im.load(); im = im.convert('RGB')
print('%.1f' % ((time.process_time() - t) * 1000))" "$f"; done | median)
  echo "  Pillow decode                    : $p ms"
  pp=$(for i in 1 2 3 4 5; do python3 -c "
import sys, time
from PIL import Image
t = time.process_time(); im = Image.open(sys.argv[1]).convert('RGB')
a = im.resize((2048, 1536), Image.Resampling.LANCZOS); b = a.resize((2048, 1536), Image.Resampling.LANCZOS)
g = a.resize((512, 512), Image.Resampling.LANCZOS)
print('%.1f' % ((time.process_time() - t) * 1000))" "$f"; done | median)
  echo "  Pillow decode + SmolVLM resizes  : $pp ms"
done
SMOLVLM_BENCH_JPEG="$jpg" SMOLVLM_BENCH_PNG="$png" "$build/bench/smolvlm-bench" \
  --benchmark_filter='decode_env_jpeg|decode_preprocess_env' --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true 2>/dev/null | grep -E "median|^Benchmark" || true
echo "(ours: decode = BM_decode_env_jpeg; decode + preprocess = decode_preprocess_env: 13 normalised 512 px tiles)"
