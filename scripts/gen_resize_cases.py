#!/usr/bin/env python3
"""Expected outputs for tests/pipeline/resample_test.cpp of
  - torch's native uint8 antialiased resize (what torchvision's resize of a uint8 tensor runs on
    CPU: SmolVLM2's video frames), "library": "torch";
  - Pillow's Image.resize (the image processor's LANCZOS; tall images exercise Pillow 13's
    vertical-first pass order), "library": "pillow".

Inputs are made by a formula the C++ test repeats (no image files); the outputs are stored as
FNV-1a 64-bit hashes of the HWC bytes plus the first bytes in clear. Needs torch (a venv from
PyPI): run once, commit tests/data/torch_resize_cases.json. The tests never need Python.
"""
import json, sys
import numpy as np
import torch
import torch.nn.functional as F


def make_input(h, w, c, seed):
    # Smooth gradients + a hashed texture: v = (x*7 + y*13 + c*50 + ((x*y*seed) ^ (x+y)) % 64) & 255
    y, x, ch = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    v = (x * 7 + y * 13 + ch * 50 + (((x * y * seed) ^ (x + y)) % 64)) & 255
    return v.astype(np.uint8)


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for byte in b:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


cases = []
rng = np.random.default_rng(1)
shapes = [(180, 320, 72, 128), (72, 128, 32, 32), (37, 211, 40, 9), (5, 7, 13, 17), (300, 100, 300, 50),
          (100, 300, 100, 300), (64, 64, 1, 1), (1, 50, 1, 20), (50, 1, 20, 1), (99, 101, 33, 201)]
for _ in range(14):
    h, w = rng.integers(1, 160, 2)
    oh, ow = rng.integers(1, 160, 2)
    shapes.append((int(h), int(w), int(oh), int(ow)))
for i, (h, w, oh, ow) in enumerate(shapes):
    for mode in ("lanczos", "bicubic", "bilinear"):
        if mode != "lanczos" and i % 3:
            continue
        seed = 3 + i
        img = make_input(h, w, 3, seed)
        t = torch.from_numpy(img).permute(2, 0, 1).contiguous()[None]
        if (oh, ow) == (h, w):
            out = img
        else:
            try:
                out = F.interpolate(t, size=(oh, ow), mode=mode, antialias=True, align_corners=False)[0]
            except RuntimeError as e:  # torch's AVX kernel asserts on some 1-pixel shapes
                print("torch refuses", (h, w, oh, ow, mode), str(e).splitlines()[0][:80])
                continue
            out = out.permute(1, 2, 0).contiguous().numpy()
        b = out.tobytes()
        cases.append({"library": "torch", "h": h, "w": w, "out_h": oh, "out_w": ow, "channels": 3, "seed": seed,
                      "filter": mode, "fnv1a64": fnv1a64(b), "first_bytes": list(b[:12])})

from PIL import Image
pil_filters = {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC,
               "bilinear": Image.Resampling.BILINEAR}
pil_shapes = [(300, 100, 150, 50), (164, 82, 82, 41), (512, 256, 364, 364), (200, 40, 100, 20), (201, 100, 100, 50),
              (199, 100, 100, 50), (41, 83, 40, 88), (97, 87, 2, 7), (87, 45, 3, 7), (1456, 200, 364, 50),
              (100, 300, 50, 150), (480, 640, 1092, 1456)]
for _ in range(12):
    h, w = rng.integers(2, 300, 2)
    oh, ow = rng.integers(1, 200, 2)
    pil_shapes.append((int(h), int(w), int(oh), int(ow)))
for i, (h, w, oh, ow) in enumerate(pil_shapes):
    for mode in ("lanczos", "bicubic", "bilinear"):
        if mode != "lanczos" and i % 4:
            continue
        for ch in (3, 1):
            if ch == 1 and i % 3:
                continue
            seed = 50 + i
            img = make_input(h, w, ch, seed)
            pim = Image.fromarray(img[:, :, 0] if ch == 1 else img)
            b = np.asarray(pim.resize((ow, oh), pil_filters[mode])).tobytes()
            cases.append({"library": "pillow", "h": h, "w": w, "out_h": oh, "out_w": ow, "channels": ch,
                          "seed": seed, "filter": mode, "fnv1a64": fnv1a64(b), "first_bytes": list(b[:12])})
import PIL
json.dump({"torch": torch.__version__, "pillow": PIL.__version__, "input": "v = (x*7 + y*13 + c*50 + (((x*y*seed) ^ (x+y)) % 64)) & 255",
           "cases": cases}, open(sys.argv[1] if len(sys.argv) > 1 else "tests/data/resize_cases.json", "w"),
          indent=1)
print(len(cases), "cases")
