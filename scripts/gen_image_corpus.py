#!/usr/bin/env python3
"""Make the BMP / GIF / WebP conformance corpus and its manifest of Pillow's pixels.

    /work/venv/bin/python scripts/gen_image_corpus.py [OUT_DIR]     (default tests/data/images)

Needs Pillow (the reference: what Image.open(f) then convert("RGB") / convert("RGBA") give),
Debian's imagemagick (`convert`), webp (`cwebp`, `img2webp`, `gif2webp`) and vpx-tools
(`vpxenc`, for VP8 frames with several token partitions and loop-filter deltas). Files are written
by those tools and by hand (struct) for the header variants and corner cases no tool
writes. For every file, manifest.json records the size, Pillow's mode and the SHA-256 of
convert("RGB").tobytes() and convert("RGBA").tobytes(), or "error" when Pillow refuses the
file (the decoder must refuse it too). tests/io/image_corpus_test.cpp checks every entry;
it needs no Python. Deterministic: the same tools give the same files.
"""
import hashlib
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings

from PIL import Image, ImageDraw, ImageFilter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data", "images")
CONVERT = "/usr/bin/convert" if os.path.exists("/usr/bin/convert") else shutil.which("convert")
TMP = tempfile.mkdtemp(prefix="imgcorpus-")


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def out(cls, name):
    d = os.path.join(OUT, cls)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)


def write(cls, name, data):
    with open(out(cls, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------- sources
def photo(w, h, seed=1, alpha=False):
    """Smooth gradients, shapes and a little noise: exercises every lossy prediction mode."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = ((x * 255 // max(1, w - 1) + rnd.randrange(12)) & 255,
                        (y * 255 // max(1, h - 1) + rnd.randrange(12)) & 255,
                        ((x + y) * 4 + rnd.randrange(40)) & 255)
    d = ImageDraw.Draw(im)
    for _ in range(4):
        x0, y0 = rnd.randrange(w), rnd.randrange(h)
        d.ellipse([x0, y0, x0 + rnd.randrange(1, w // 2 + 2), y0 + rnd.randrange(1, h // 2 + 2)],
                  fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    d.line([0, 0, w - 1, h - 1], fill=(255, 255, 255), width=2)
    if alpha:
        a = Image.new("L", (w, h))
        ap = a.load()
        for y in range(h):
            for x in range(w):
                ap[x, y] = 0 if (x // 5 + y // 5) % 3 == 0 else (x * 7 + y * 3) & 255
        im = im.convert("RGBA")
        im.putalpha(a)
    return im


def few_colours(w, h, n, seed=2):
    rnd = random.Random(seed)
    pal = [(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)) for _ in range(n)]
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = pal[((x // 3) * 7 + (y // 2) * 3 + rnd.randrange(2)) % n]
    return im


def save_src(im, name):
    p = os.path.join(TMP, name)
    im.save(p)
    return p


# ---------------------------------------------------------------------------- BMP
def bmp_file(header, pixels, palette=b"", masks=b"", offset=None, extra=b""):
    """BITMAPFILEHEADER + header + masks + palette + pixels."""
    off = 14 + len(header) + len(masks) + len(palette) if offset is None else offset
    body = header + masks + palette + extra + pixels
    return b"BM" + struct.pack("<IHHI", 14 + len(body), 0, 0, off) + body


def info_header(size, w, h, bits, comp=0, colors=0, image_size=0, masks=None):
    hd = struct.pack("<IiiHHIIiiII", size, w, h, 1, bits, comp, image_size, 2835, 2835, colors, 0)
    if size > 40:
        m = masks or (0, 0, 0, 0)
        hd += struct.pack("<IIII", *m)[: min(16, size - 40)]
    return hd + b"\0" * (size - len(hd))


def rows(w, h, bits, value):
    """Bottom-up rows padded to 4 bytes; value(x, y) gives the raw sample (y from the top)."""
    stride = ((w * bits + 31) >> 3) & ~3
    data = bytearray()
    for fy in range(h):
        y = h - 1 - fy
        r = bytearray(stride)
        for x in range(w):
            v = value(x, y)
            if bits < 8:
                r[x * bits // 8] |= v << (8 - bits - (x * bits) % 8)
            elif bits == 8:
                r[x] = v
            elif bits == 16:
                r[2 * x: 2 * x + 2] = struct.pack("<H", v)
            elif bits == 24:
                r[3 * x: 3 * x + 3] = bytes(v)
            else:
                r[4 * x: 4 * x + 4] = struct.pack("<I", v)
        data += r
    return bytes(data)


def gen_bmp():
    src = save_src(photo(23, 17, 3), "bmp_src.png")
    alpha_src = save_src(photo(19, 13, 4, alpha=True), "bmp_alpha.png")
    few = save_src(few_colours(21, 15, 12), "bmp_few.png")
    two = save_src(few_colours(37, 9, 2), "bmp_two.png")
    # ImageMagick writers: each header version and depth it writes.
    run(CONVERT, src, "BMP3:" + out("bmp", "im_v3_24.bmp"))
    run(CONVERT, src, "BMP2:" + out("bmp", "im_os2_24.bmp"))
    run(CONVERT, src, "-define", "bmp:format=bmp4", "BMP:" + out("bmp", "im_v5_24.bmp"))
    run(CONVERT, alpha_src, "BMP:" + out("bmp", "im_v5_32_alpha.bmp"))
    run(CONVERT, alpha_src, "-define", "bmp3:alpha=true", "BMP3:" + out("bmp", "im_v3_32_alpha.bmp"))
    run(CONVERT, few, "-type", "Palette", "BMP3:" + out("bmp", "im_v3_pal8.bmp"))
    run(CONVERT, few, "-type", "Palette", "-compress", "RLE", "BMP3:" + out("bmp", "im_v3_rle8.bmp"))
    run(CONVERT, few, "-colors", "16", "-type", "Palette", "-depth", "4", "BMP3:" + out("bmp", "im_v3_pal4.bmp"))
    run(CONVERT, two, "-type", "Palette", "-colors", "2", "BMP3:" + out("bmp", "im_v3_pal1.bmp"))
    run(CONVERT, src, "-colorspace", "Gray", "-type", "Grayscale", "BMP3:" + out("bmp", "im_v3_gray8.bmp"))
    run(CONVERT, two, "-monochrome", "BMP3:" + out("bmp", "im_v3_mono.bmp"))
    run(CONVERT, src, "-define", "bmp:subtype=RGB565", "BMP:" + out("bmp", "im_v5_565.bmp"))
    run(CONVERT, src, "-define", "bmp:subtype=RGB555", "BMP:" + out("bmp", "im_v5_555.bmp"))
    run(CONVERT, alpha_src, "-define", "bmp:subtype=ARGB4444", "BMP:" + out("bmp", "im_v5_argb4444.bmp"))
    # Pillow's writer.
    Image.open(src).save(out("bmp", "pil_rgb.bmp"))
    Image.open(src).convert("L").save(out("bmp", "pil_l.bmp"))
    Image.open(two).convert("1").save(out("bmp", "pil_1.bmp"))
    Image.open(few).convert("P", palette=Image.Palette.ADAPTIVE, colors=12).save(out("bmp", "pil_p.bmp"))
    Image.open(alpha_src).save(out("bmp", "pil_rgba.bmp"))

    # By hand: every header size, depth and compression PIL reads.
    w, h = 13, 7
    rgb = lambda x, y: ((x * 19 + y * 7) & 255, (x * 3 + y * 31) & 255, (x * y * 5) & 255)
    for size in (40, 52, 56, 64, 108, 124):
        write("bmp", "hand_h%d_24.bmp" % size, bmp_file(info_header(size, w, h, 24), rows(w, h, 24, rgb)))
    core = struct.pack("<IHHHH", 12, w, h, 1, 24)
    write("bmp", "hand_core_24.bmp", bmp_file(core, rows(w, h, 24, rgb)))
    pal3 = b"".join(bytes((i * 37 & 255, i * 91 & 255, i * 13 & 255)) for i in range(16))
    write("bmp", "hand_core_pal4.bmp",
          bmp_file(struct.pack("<IHHHH", 12, w, h, 1, 4), rows(w, h, 4, lambda x, y: (x + y) & 15), pal3))
    # Top-down (negative height).
    write("bmp", "hand_topdown_24.bmp", bmp_file(info_header(40, w, -h, 24),
                                                  rows(w, h, 24, lambda x, y: rgb(x, h - 1 - y))))
    # 32-bit BI_RGB: PIL ignores the fourth byte.
    write("bmp", "hand_32_rgb_x.bmp",
          bmp_file(info_header(40, w, h, 32), rows(w, h, 32, lambda x, y: (x * 40 + y) | (y * 60) << 8 | 0x5A << 24)))
    # 16-bit BI_RGB (5-5-5) and bit fields.
    v16 = lambda x, y: (x * 2521 + y * 977) & 0xFFFF
    write("bmp", "hand_16_rgb.bmp", bmp_file(info_header(40, w, h, 16), rows(w, h, 16, v16)))
    write("bmp", "hand_16_bf565_h40.bmp", bmp_file(info_header(40, w, h, 16, comp=3), rows(w, h, 16, v16),
                                                    masks=struct.pack("<III", 0xF800, 0x7E0, 0x1F)))
    write("bmp", "hand_16_bf555_h56.bmp", bmp_file(info_header(56, w, h, 16, comp=3, masks=(0x7C00, 0x3E0, 0x1F, 0)),
                                                    rows(w, h, 16, v16)))
    write("bmp", "hand_16_bf444_refused.bmp", bmp_file(info_header(56, w, h, 16, comp=3, masks=(0xF00, 0xF0, 0xF, 0)),
                                                        rows(w, h, 16, v16)))
    v32 = lambda x, y: (x * 0x01020304 + y * 0x10305070 + 0x0A0B0C0D) & 0xFFFFFFFF
    for name, m in (("bgrx", (0xFF0000, 0xFF00, 0xFF, 0)), ("xbgr", (0xFF000000, 0xFF0000, 0xFF00, 0)),
                    ("bgxr", (0xFF000000, 0xFF00, 0xFF, 0)), ("abgr", (0xFF000000, 0xFF0000, 0xFF00, 0xFF)),
                    ("rgba", (0xFF, 0xFF00, 0xFF0000, 0xFF000000)), ("bgra", (0xFF0000, 0xFF00, 0xFF, 0xFF000000)),
                    ("bgar", (0xFF000000, 0xFF00, 0xFF, 0xFF0000)), ("zero", (0, 0, 0, 0)),
                    ("odd_refused", (0x3FF00000, 0xFFC00, 0x3FF, 0))):
        write("bmp", "hand_32_bf_%s_h124.bmp" % name,
              bmp_file(info_header(124, w, h, 32, comp=3, masks=m), rows(w, h, 32, v32)))
    write("bmp", "hand_32_bf_h52_noalpha.bmp",
          bmp_file(info_header(52, w, h, 32, comp=3, masks=(0xFF0000, 0xFF00, 0xFF, 0)), rows(w, h, 32, v32)))
    write("bmp", "hand_32_bf_h40.bmp", bmp_file(info_header(40, w, h, 32, comp=3), rows(w, h, 32, v32),
                                                masks=struct.pack("<III", 0xFF0000, 0xFF00, 0xFF)))
    write("bmp", "hand_24_bf.bmp", bmp_file(info_header(56, w, h, 24, comp=3, masks=(0xFF0000, 0xFF00, 0xFF, 0)),
                                            rows(w, h, 24, rgb)))
    # Palettes: short ones (indices past the end), gray ramps (PIL opens "L" / "1").
    pal4 = lambda n, f: b"".join(bytes((*f(i), 0)) for i in range(n))
    col = lambda i: (i * 53 & 255, i * 17 & 255, 255 - i * 29 & 255)
    write("bmp", "hand_pal8_short.bmp", bmp_file(info_header(40, w, h, 8, colors=5),
                                                 rows(w, h, 8, lambda x, y: (x + 3 * y) % 9), pal4(5, col)))
    write("bmp", "hand_pal4_short.bmp", bmp_file(info_header(40, w, h, 4, colors=3),
                                                 rows(w, h, 4, lambda x, y: (x * y) % 16), pal4(3, col)))
    write("bmp", "hand_pal1_color.bmp", bmp_file(info_header(40, w, h, 1, colors=2),
                                                 rows(w, h, 1, lambda x, y: (x ^ y) & 1), pal4(2, col)))
    write("bmp", "hand_pal1_bw.bmp", bmp_file(info_header(40, w, h, 1, colors=2), rows(w, h, 1, lambda x, y: (x + y) & 1),
                                              pal4(2, lambda i: (255 * i,) * 3)))
    write("bmp", "hand_pal8_grayramp.bmp", bmp_file(info_header(40, w, h, 8), rows(w, h, 8, lambda x, y: x * 17 + y),
                                                    pal4(256, lambda i: (i, i, i))))
    write("bmp", "hand_pal8_gray16.bmp", bmp_file(info_header(40, w, h, 8, colors=16),
                                                  rows(w, h, 8, lambda x, y: x * 19 + y), pal4(16, lambda i: (i, i, i))))
    write("bmp", "hand_pal8_colors0.bmp", bmp_file(info_header(40, w, h, 8), rows(w, h, 8, lambda x, y: x * 11 + y * 3),
                                                   pal4(256, col)))
    # The file header's offset forgets the palette: PIL skips it.
    write("bmp", "hand_pal8_offset_nopal.bmp",
          bmp_file(info_header(40, w, h, 8, colors=4), rows(w, h, 8, lambda x, y: (x + y) & 3), pal4(4, col),
                   offset=14 + 40))
    # A gap between palette and pixels.
    write("bmp", "hand_pal8_gap.bmp", bmp_file(info_header(40, w, h, 8, colors=4), rows(w, h, 8, lambda x, y: (x + y) & 3),
                                               pal4(4, col), offset=14 + 40 + 16 + 10, extra=b"\x77" * 10))

    # RLE8 / RLE4 by hand: runs (clipped at the row end: after a row is full, runs add
    # nothing until an end of line), absolute runs padded to an even file offset, delta,
    # end of line, end of bitmap. Pixel data starts at the even offset 118.
    def pad(s):
        return s + b"\0" if (118 + len(s)) % 2 else s

    def rle8_stream():
        s = bytes((5, 1, 0, 4, 7, 8, 9, 10, 4, 2, 0, 0))
        s = pad(s + bytes((0, 3, 1, 2, 3))) + bytes((10, 3, 0, 0))
        s += bytes((0, 2, 3, 1, 10, 6, 0, 0))
        s += bytes((20, 1, 0, 0, 0, 0, 13, 4, 6, 5, 0, 0, 6, 5, 0, 0, 0, 1))
        return s
    pal = pal4(16, col)
    write("bmp", "hand_rle8.bmp", bmp_file(info_header(40, 13, 7, 8, comp=1, colors=16), rle8_stream(), pal))

    def rle4_stream():
        s = pad(bytes((5, 0x12, 0, 5, 0x34, 0x56, 0x70))) + bytes((3, 0xAB, 0, 0))
        s += bytes((0, 2, 2, 0, 6, 0x9F, 0, 0, 13, 0xCD, 0, 0, 13, 0x11, 0, 0))
        s = pad(s + bytes((0, 13, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xD0)))
        s += bytes((0, 0, 13, 0x23, 0, 0, 7, 0x45, 0, 0, 0, 1))
        return s
    write("bmp", "hand_rle4.bmp", bmp_file(info_header(40, 13, 7, 4, comp=2, colors=16), rle4_stream(), pal))
    write("bmp", "hand_rle8_short_refused.bmp",
          bmp_file(info_header(40, 13, 7, 8, comp=1, colors=16), bytes((13, 3, 0, 0, 13, 4, 0, 1)), pal))
    # RLE whose depth field disagrees with the compression (PIL decodes by the compression);
    # RLE of a black / white palette: PIL's mode "1" makes every index > 0 white.
    write("bmp", "hand_rle8_depth4.bmp", bmp_file(info_header(40, 13, 7, 4, comp=1, colors=16), rle8_stream(), pal))
    write("bmp", "hand_rle8_bw.bmp", bmp_file(info_header(40, 13, 7, 8, comp=1, colors=2),
                                              bytes((4, 1, 3, 0, 2, 200, 4, 2, 0, 0)) * 7 + bytes((0, 1)),
                                                      pal4(2, lambda i: (255 * i,) * 3)))
    write("bmp", "hand_rle8_gray.bmp", bmp_file(info_header(40, 13, 7, 8, comp=1, colors=16), rle8_stream(),
                                                pal4(16, lambda i: (i, i, i))))
    # Gray palettes on other depths: "1" unpacks 1 bit per pixel from 8-bit rows; "L" reads
    # one byte per pixel from 4-bit rows (refused when a row is too short for that).
    write("bmp", "hand_pal8_bw_as_1bit.bmp", bmp_file(info_header(40, w, h, 8, colors=2),
                                                      rows(w, h, 8, lambda x, y: (x * 37 + y * 11) & 255),
                                                      pal4(2, lambda i: (255 * i,) * 3)))
    write("bmp", "hand_pal4_gray16_w2.bmp", bmp_file(info_header(40, 2, h, 4, colors=16),
                                                     rows(2, h, 4, lambda x, y: (x + y) & 15),
                                                     pal4(16, lambda i: (i, i, i))))
    write("bmp", "hand_pal4_gray16_w13.bmp", bmp_file(info_header(40, w, h, 4, colors=16),
                                                      rows(w, h, 4, lambda x, y: (x + y) & 15),
                                                      pal4(16, lambda i: (i, i, i))))
    # Top-down RLE; a palette of more than 256 colours (PIL cannot hold it: refused).
    write("bmp", "hand_rle8_topdown.bmp", bmp_file(info_header(40, 13, -7, 8, comp=1, colors=16), rle8_stream(), pal))
    write("bmp", "hand_pal8_300colors_refused.bmp", bmp_file(info_header(40, w, h, 8, colors=300),
                                                             rows(w, h, 8, lambda x, y: x + y), pal4(300, col)))
    # Refused by PIL.
    write("bmp", "hand_jpeg_refused.bmp", bmp_file(info_header(40, w, h, 24, comp=4), b"\xff\xd8\xff\xd9"))
    write("bmp", "hand_png_refused.bmp", bmp_file(info_header(40, w, h, 24, comp=5), b"\x89PNG\r\n\x1a\n"))
    write("bmp", "hand_depth2_refused.bmp", bmp_file(info_header(40, w, h, 2), rows(w, h, 2, lambda x, y: 1),
                                                     pal4(4, col)))
    write("bmp", "hand_truncated_refused.bmp", bmp_file(info_header(40, w, h, 24), rows(w, h, 24, rgb))[:-40])
    write("bmp", "hand_header20_refused.bmp", bmp_file(struct.pack("<I", 20) + b"\0" * 16, b"\0" * 64))
    # Odd sizes.
    for (ww, hh) in ((1, 1), (1, 9), (31, 2)):
        write("bmp", "hand_%dx%d_24.bmp" % (ww, hh), bmp_file(info_header(40, ww, hh, 24), rows(ww, hh, 24, rgb)))
        write("bmp", "hand_%dx%d_pal1.bmp" % (ww, hh),
              bmp_file(info_header(40, ww, hh, 1), rows(ww, hh, 1, lambda x, y: (x + y) & 1), pal4(2, col)))


# ---------------------------------------------------------------------------- GIF
class BitWriter:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, v, bits):
        self.acc |= v << self.n
        self.n += bits
        while self.n >= 8:
            self.out.append(self.acc & 255)
            self.acc >>= 8
            self.n -= 8

    def done(self):
        if self.n:
            self.out.append(self.acc & 255)
        return bytes(self.out)


def lzw(indices, min_bits, end=True, clear_every=None):
    """A plain GIF LZW encoder (with table growth up to 4096 entries and a clear then)."""
    clear, eoi = 1 << min_bits, (1 << min_bits) + 1
    bw = BitWriter()
    size = min_bits + 1
    table = {(i,): i for i in range(clear)}
    nxt = eoi + 1
    bw.put(clear, size)
    cur = ()
    count = 0
    for v in indices:
        if cur + (v,) in table:
            cur = cur + (v,)
            continue
        bw.put(table[cur], size)
        count += 1
        if nxt < 4096:
            table[cur + (v,)] = nxt
            nxt += 1
            if nxt > (1 << size) and size < 12:
                size += 1
        elif clear_every is None or True:
            bw.put(clear, size)
            table = {(i,): i for i in range(clear)}
            nxt, size = eoi + 1, min_bits + 1
        cur = (v,)
    if cur:
        bw.put(table[cur], size)
    if end:
        bw.put(eoi, size)
    return bw.done()


def sub_blocks(data, block=255):
    b = bytearray()
    for i in range(0, len(data), block):
        b.append(len(data[i:i + block]))
        b += data[i:i + block]
    return bytes(b) + b"\0"


def gif_file(sw, sh, gpal=None, frames=(), version=b"GIF89a", bg=0, trailer=True):
    head = version + struct.pack("<HH", sw, sh)
    if gpal is not None:
        bits = max(1, (len(gpal) // 3 - 1).bit_length())
        p = gpal + b"\0" * (3 * (1 << bits) - len(gpal))
        head += bytes((0x80 | (bits - 1), bg, 0)) + p
    else:
        head += bytes((0, bg, 0))
    body = b""
    for f in frames:
        body += f
    return head + body + (b";" if trailer else b"")


def gif_frame(x, y, w, h, indices, min_bits=None, lpal=None, interlace=False, trans=None, raw=None):
    s = b""
    if trans is not None:
        s += b"!\xf9\x04" + bytes((1, 10, 0, trans)) + b"\0"
    flags = 0x40 if interlace else 0
    pal = b""
    if lpal is not None:
        bits = max(1, (len(lpal) // 3 - 1).bit_length())
        pal = lpal + b"\0" * (3 * (1 << bits) - len(lpal))
        flags |= 0x80 | (bits - 1)
    if min_bits is None:
        min_bits = max(2, max(indices).bit_length()) if indices else 2
    order = indices
    if interlace:
        rows_ = [indices[r * w:(r + 1) * w] for r in range(h)]
        seq = list(range(0, h, 8)) + list(range(4, h, 8)) + list(range(2, h, 4)) + list(range(1, h, 2))
        order = [v for r in seq for v in rows_[r]]
    data = raw if raw is not None else lzw(order, min_bits)
    return s + b"," + struct.pack("<HHHHB", x, y, w, h, flags) + pal + bytes((min_bits,)) + sub_blocks(data)


def gen_gif():
    src = photo(29, 21, 5)
    # Pillow's writer: palette, interlaced, transparency, odd sizes, animation (first frame).
    src.convert("P", palette=Image.Palette.ADAPTIVE).save(out("gif", "pil_adaptive.gif"))
    src.convert("P", palette=Image.Palette.ADAPTIVE, colors=7).save(out("gif", "pil_7colors_interlaced.gif"),
                                                                    interlace=True)
    src.convert("P", palette=Image.Palette.ADAPTIVE, colors=7).save(out("gif", "pil_7colors_plain.gif"),
                                                                    interlace=False)
    p = src.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    p.save(out("gif", "pil_transparency.gif"), transparency=3)
    src.convert("L").save(out("gif", "pil_gray.gif"))
    src.convert("1").save(out("gif", "pil_1bit.gif"))
    frames = [photo(23, 19, s).convert("P", palette=Image.Palette.ADAPTIVE, colors=8 + 4 * s) for s in range(3)]
    frames[0].save(out("gif", "pil_animated.gif"), save_all=True, append_images=frames[1:], duration=50, loop=0)
    for (w, h) in ((1, 1), (2, 3), (63, 5), (5, 41)):
        photo(w, h, w * h).convert("P", palette=Image.Palette.ADAPTIVE, colors=5).save(
            out("gif", "pil_%dx%d.gif" % (w, h)))
    # ImageMagick: offset frames (-page), animation, interlace, local colour tables.
    s1 = save_src(photo(17, 11, 6), "g1.png")
    s2 = save_src(photo(17, 11, 7), "g2.png")
    run(CONVERT, "-page", "40x30+5+7", s1, "-page", "+1+2", s2, out("gif", "im_offset_anim.gif"))
    run(CONVERT, "-page", "40x30+11+3", s1, out("gif", "im_offset_still.gif"))
    run(CONVERT, s1, "-interlace", "GIF", out("gif", "im_interlaced.gif"))
    run(CONVERT, s1, s2, "+map", out("gif", "im_local_palettes.gif"))
    run(CONVERT, s1, "-transparent", "white", out("gif", "im_transparent_white.gif"))

    # By hand: layouts PIL treats specially.
    pal = bytes((10, 20, 30, 200, 0, 0, 0, 200, 0, 0, 0, 200, 90, 90, 90))
    w, h = 11, 9
    idx = [(x * 3 + y) % 5 for y in range(h) for x in range(w)]
    write("gif", "hand_basic.gif", gif_file(w, h, pal, [gif_frame(0, 0, w, h, idx)]))
    write("gif", "hand_gif87a.gif", gif_file(w, h, pal, [gif_frame(0, 0, w, h, idx)], version=b"GIF87a"))
    write("gif", "hand_interlaced_h9.gif", gif_file(w, h, pal, [gif_frame(0, 0, w, h, idx, interlace=True)]))
    idx2 = [(x + y) % 5 for y in range(3) for x in range(w)]
    write("gif", "hand_interlaced_h3.gif", gif_file(w, 3, pal, [gif_frame(0, 0, w, 3, idx2, interlace=True)]))
    # Frame inside the screen, with and without transparency: outside is index 0 / transparent.
    write("gif", "hand_offset.gif", gif_file(20, 15, pal, [gif_frame(4, 3, w, h, idx)]))
    write("gif", "hand_offset_trans.gif", gif_file(20, 15, pal, [gif_frame(4, 3, w, h, idx, trans=2)]))
    # Frame reaching past the logical screen: PIL grows the image.
    write("gif", "hand_frame_past_screen.gif", gif_file(8, 6, pal, [gif_frame(3, 2, w, h, idx)]))
    write("gif", "hand_screen_0x0.gif", gif_file(0, 0, pal, [gif_frame(0, 0, w, h, idx)]))
    # Local palette overrides the global one; local only; no palette at all (PIL: "L").
    lpal = bytes((255, 255, 0, 0, 255, 255, 255, 0, 255, 1, 2, 3, 250, 250, 250))
    write("gif", "hand_local_over_global.gif", gif_file(w, h, pal, [gif_frame(0, 0, w, h, idx, lpal=lpal)]))
    write("gif", "hand_local_only.gif", gif_file(w, h, None, [gif_frame(0, 0, w, h, idx, lpal=lpal)]))
    write("gif", "hand_no_palette.gif", gif_file(w, h, None, [gif_frame(0, 0, w, h, idx)]))
    write("gif", "hand_no_palette_trans.gif", gif_file(w, h, None, [gif_frame(0, 0, w, h, idx, trans=1)]))
    ramp = bytes(v for i in range(4) for v in (i, i, i))
    write("gif", "hand_identity_ramp.gif", gif_file(w, h, ramp, [gif_frame(0, 0, w, h, [v % 4 for v in idx])]))
    # Indices past a short palette (black); transparent index past the palette.
    write("gif", "hand_index_past_palette.gif",
          gif_file(w, h, pal[:6], [gif_frame(0, 0, w, h, [(x + y) % 7 for y in range(h) for x in range(w)],
                                             min_bits=3)]))
    write("gif", "hand_trans_past_palette.gif", gif_file(w, h, pal[:6], [gif_frame(0, 0, w, h, idx, trans=200)]))
    # A long image: the LZW table fills to 4096 entries and is cleared.
    W2, H2 = 97, 61
    big = [((x * x + y * 7) ^ (x * y)) % 256 for y in range(H2) for x in range(W2)]
    gpal = bytes((i * 7 + c * 50) & 255 for i in range(256) for c in range(3))
    write("gif", "hand_lzw_full_table.gif", gif_file(W2, H2, gpal, [gif_frame(0, 0, W2, H2, big, min_bits=8)]))
    # Extensions before the image: comment, application, two graphic controls (last wins).
    ext = b"!\xfe" + sub_blocks(b"hello") + b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00" + \
        b"!\xf9\x04\x01\x00\x00\x04\x00"
    write("gif", "hand_extensions.gif", gif_file(w, h, pal, [ext + gif_frame(0, 0, w, h, idx, trans=1)]))
    # Data after the frame is complete is ignored; no trailer is fine.
    write("gif", "hand_no_trailer.gif", gif_file(w, h, pal, [gif_frame(0, 0, w, h, idx)], trailer=False))
    # LZW data without the end code, complete frame.
    write("gif", "hand_no_end_code.gif",
          gif_file(w, h, pal, [gif_frame(0, 0, w, h, idx, raw=lzw(idx, 3, end=False), min_bits=3)]))
    # Refused: cut short, an early end code, no image.
    full = gif_file(W2, H2, gpal, [gif_frame(0, 0, W2, H2, big, min_bits=8)])
    write("gif", "hand_truncated_refused.gif", full[: len(full) // 2])
    write("gif", "hand_early_end_refused.gif",
          gif_file(w, h, pal, [gif_frame(0, 0, w, h, idx, raw=lzw(idx[:40], 3), min_bits=3)]))
    write("gif", "hand_no_image_refused.gif", gif_file(w, h, pal, []))
    # Header oddities: stray bytes between blocks (skipped), a short graphic control block,
    # an empty frame, a code size above 12.
    write("gif", "hand_stray_bytes.gif", gif_file(w, h, pal, [b"\x00\x07junk" + gif_frame(0, 0, w, h, idx)]))
    write("gif", "hand_short_gce.gif", gif_file(w, h, pal, [b"!\xf9\x02\x01\x00\x00" + gif_frame(0, 0, w, h, idx)]))
    write("gif", "hand_empty_frame.gif", gif_file(w, h, pal, [gif_frame(0, 0, 0, h, idx)]))
    write("gif", "hand_code_size_13.gif", gif_file(w, h, pal, [gif_frame(0, 0, w, h, idx, min_bits=13,
                                                                         raw=lzw(idx, 8))]))
    # Damaged LZW data (flipped bytes) and cuts: PIL's decoder decides; we must agree.
    for name in ("hand_lzw_full_table", "pil_adaptive", "pil_7colors_interlaced"):
        data = open(out("gif", name + ".gif"), "rb").read()
        for k, frac in enumerate((40, 60, 85, 97)):
            d = bytearray(data)
            d[len(d) * frac // 100] ^= 0x21
            write("gif", "damaged_%s_flip%d.gif" % (name, k), bytes(d))
        write("gif", "damaged_%s_cut.gif" % name, data[: len(data) - 3])


# ---------------------------------------------------------------------------- WebP
def vpxenc_webp(im, opts):
    """Encode one RGB image with vpxenc (VP8, one key frame) and wrap the frame as a WebP."""
    w, h = im.size
    ycc = im.convert("YCbCr")
    y = ycc.getchannel(0).tobytes()
    cw, ch = (w + 1) // 2, (h + 1) // 2
    u = ycc.getchannel(1).resize((cw, ch), Image.Resampling.BOX).tobytes()
    v = ycc.getchannel(2).resize((cw, ch), Image.Resampling.BOX).tobytes()
    y4m = os.path.join(TMP, "in.y4m")
    with open(y4m, "wb") as f:
        f.write(b"YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C420jpeg\nFRAME\n" % (w, h) + y + u + v)
    ivf = os.path.join(TMP, "out.ivf")
    cq = [] if any(o.startswith("--cq-level") for o in opts) else ["--cq-level=40"]
    run("vpxenc", "--codec=vp8", "--ivf", "--limit=1", "--good", "--cpu-used=0", "--end-usage=q", *cq, *opts,
        "-o", ivf, y4m)
    data = open(ivf, "rb").read()
    size = struct.unpack("<I", data[32:36])[0]
    frame = data[44:44 + size]
    chunk = b"VP8 " + struct.pack("<I", len(frame)) + frame + (b"\0" if len(frame) & 1 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def gen_webp():
    base = save_src(photo(67, 45, 8), "w_photo.png")
    alpha = save_src(photo(41, 29, 9, alpha=True), "w_alpha.png")
    small = {s: save_src(photo(*s, seed=s[0] * 31 + s[1]), "w_%dx%d.png" % s)
             for s in ((1, 1), (2, 2), (3, 5), (16, 16), (17, 17), (33, 1), (1, 40), (31, 47))}
    lossy = [("q75", ["-q", "75"]), ("q5", ["-q", "5"]), ("q100", ["-q", "100"]),
             ("simple_filter", ["-q", "60", "-nostrong", "-f", "70"]),
             ("strong_sharp5", ["-q", "60", "-strong", "-f", "90", "-sharpness", "5"]),
             ("nofilter", ["-q", "70", "-f", "0"]), ("seg1", ["-q", "50", "-segments", "1"]),
             ("sns100", ["-q", "40", "-sns", "100"]), ("m0", ["-q", "80", "-m", "0"]),
             ("m6_pass", ["-q", "90", "-m", "6", "-pass", "4"]), ("sharp_yuv", ["-q", "75", "-sharp_yuv"]),
             ("af", ["-q", "65", "-af"])]
    for name, opts in lossy:
        run("cwebp", "-quiet", *opts, base, "-o", out("webp", "lossy_%s.webp" % name))
    for s, p in small.items():
        run("cwebp", "-quiet", "-q", "70", p, "-o", out("webp", "lossy_%dx%d.webp" % s))
        run("cwebp", "-quiet", "-lossless", p, "-o", out("webp", "lossless_%dx%d.webp" % s))
    for z in (0, 3, 6, 9):
        run("cwebp", "-quiet", "-z", str(z), base, "-o", out("webp", "lossless_z%d.webp" % z))
    run("cwebp", "-quiet", "-lossless", "-exact", alpha, "-o", out("webp", "lossless_alpha_exact.webp"))
    run("cwebp", "-quiet", "-lossless", alpha, "-o", out("webp", "lossless_alpha.webp"))
    run("cwebp", "-quiet", "-near_lossless", "40", base, "-o", out("webp", "near_lossless.webp"))
    few = save_src(few_colours(45, 23, 3), "w_few3.png")
    few2 = save_src(few_colours(45, 23, 2), "w_few2.png")
    few13 = save_src(few_colours(45, 23, 13), "w_few13.png")
    few40 = save_src(few_colours(45, 23, 40), "w_few40.png")
    for nm, p in (("pal2", few2), ("pal3", few), ("pal13", few13), ("pal40", few40)):
        run("cwebp", "-quiet", "-lossless", p, "-o", out("webp", "lossless_%s.webp" % nm))
    for am, af in ((0, "none"), (1, "none"), (1, "fast"), (1, "best")):
        run("cwebp", "-quiet", "-q", "70", "-alpha_method", str(am), "-alpha_filter", af, alpha,
            "-o", out("webp", "lossy_alpha_m%d_%s.webp" % (am, af)))
    run("cwebp", "-quiet", "-q", "70", "-alpha_q", "30", alpha, "-o", out("webp", "lossy_alpha_q30.webp"))
    run("cwebp", "-quiet", "-q", "70", "-exact", alpha, "-o", out("webp", "lossy_alpha_exact.webp"))
    # Pillow's writer (lossy RGB, lossless RGBA, and an animation).
    Image.open(base).save(out("webp", "pil_lossy.webp"), quality=85)
    Image.open(alpha).save(out("webp", "pil_lossless_rgba.webp"), lossless=True)
    Image.open(alpha).save(out("webp", "pil_lossy_rgba.webp"), quality=60)
    fr = [photo(29, 23, s) for s in range(3)]
    fr[0].save(out("webp", "pil_anim_lossy.webp"), save_all=True, append_images=fr[1:], duration=40, quality=70)
    fra = [photo(29, 23, s, alpha=True) for s in range(2)]
    fra[0].save(out("webp", "pil_anim_lossless_alpha.webp"), save_all=True, append_images=fra[1:], lossless=True)
    # Still images in the extended (VP8X) container, with metadata chunks and no alpha.
    exif = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00"
    Image.open(base).save(out("webp", "pil_vp8x_lossy_exif.webp"), quality=70, exif=exif)
    rotated = Image.Exif()
    rotated[0x0112] = 6
    Image.open(base).save(out("webp", "pil_vp8x_lossy_exif_orientation6.webp"), quality=70, exif=rotated)
    Image.open(base).save(out("webp", "pil_vp8x_lossless_xmp.webp"), lossless=True, xmp=b"<x:xmpmeta/>")
    # img2webp / gif2webp animations (the first frame may be smaller than the canvas).
    g = os.path.join(OUT, "gif", "im_offset_anim.gif")
    run("gif2webp", "-quiet", g, "-o", out("webp", "gif2webp_offset.webp"))
    run("gif2webp", "-quiet", "-lossy", g, "-o", out("webp", "gif2webp_offset_lossy.webp"))
    run("img2webp", "-lossy", "-q", "50", small[(16, 16)], small[(16, 16)], "-o", out("webp", "img2webp_lossy.webp"))
    # VP8 key frames from libvpx (vpxenc), wrapped in a RIFF: token partitions, loop-filter
    # deltas, sharpness and quantiser extremes that cwebp does not write.
    if shutil.which("vpxenc"):
        for name, (w, h), opts in (("parts2", (67, 45), ["--token-parts=1"]),
                                    ("parts4_sharp3", (67, 45), ["--token-parts=2", "--sharpness=3"]),
                                    ("parts8_q0", (40, 70), ["--token-parts=3", "--min-q=0", "--max-q=8", "--cq-level=0"]),
                                    ("q63_sharp7", (33, 17), ["--min-q=55", "--max-q=63", "--cq-level=63",
                                                              "--sharpness=7"]),
                                    ("odd_9x5", (9, 5), [])):
            smooth = photo(w, h, w + h).filter(ImageFilter.GaussianBlur(1.5))  # so that libvpx filters
            write("webp", "vpxenc_%s.webp" % name, vpxenc_webp(smooth, opts))
    # Container oddities, by hand from the files above.
    def chunks_of(data):
        out_, pos = [], 12
        while pos + 8 <= len(data):
            ln = struct.unpack("<I", data[pos + 4:pos + 8])[0]
            out_.append((data[pos:pos + 4], data[pos + 8:pos + 8 + ln]))
            pos += 8 + ln + (ln & 1)
        return out_

    def riff(chs):
        body = b"".join(t + struct.pack("<I", len(p)) + p + (b"\0" if len(p) & 1 else b"") for t, p in chs)
        return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body

    def vp8x(flags, w, h):
        return (b"VP8X", bytes((flags, 0, 0, 0)) + struct.pack("<I", w - 1)[:3] + struct.pack("<I", h - 1)[:3])

    lossy = chunks_of(open(out("webp", "lossy_q75.webp"), "rb").read())[0]
    lossless = chunks_of(open(out("webp", "lossless_z6.webp"), "rb").read())[0]
    with_alpha = chunks_of(open(out("webp", "lossy_alpha_m1_best.webp"), "rb").read())
    alph = [c for c in with_alpha if c[0] == b"ALPH"][0]
    lossy_a = [c for c in with_alpha if c[0] == b"VP8 "][0]
    write("webp", "hand_vp8x_alpha_flag_no_alph.webp", riff([vp8x(0x10, 67, 45), lossy]))
    write("webp", "hand_vp8x_no_flag_with_alph.webp", riff([vp8x(0, 41, 29), alph, lossy_a]))
    write("webp", "hand_vp8x_alph_size_mismatch_refused.webp", riff([vp8x(0, 41, 29), alph, lossy]))
    write("webp", "hand_vp8x_alph_vp8l_refused.webp", riff([vp8x(0x10, 67, 45), (b"ALPH", b"\0" * 40), lossless]))
    write("webp", "hand_vp8x_canvas_mismatch_refused.webp", riff([vp8x(0, 68, 45), lossy]))
    write("webp", "hand_vp8x_unknown_chunk.webp", riff([vp8x(0, 67, 45), (b"ABCD", b"xyz"), lossy]))
    write("webp", "hand_trailing_bytes.webp", riff([lossless]) + b"trailing")
    write("webp", "hand_vp8x_reserved_flag_refused.webp", riff([vp8x(0x01, 67, 45), lossy]))
    write("webp", "hand_vp8x_alph_not_adjacent_refused.webp",
          riff([vp8x(0x10, 41, 29), alph, (b"ABCD", b"xy"), lossy_a]))
    write("webp", "hand_vp8x_still_with_anim_refused.webp",
          riff([vp8x(0, 67, 45), (b"ANIM", b"\0" * 6), lossy]))
    anim = chunks_of(open(out("webp", "pil_anim_lossy.webp"), "rb").read())
    frames = [c for c in anim if c[0] == b"ANMF"]
    head = [c for c in anim if c[0] in (b"VP8X", b"ANIM")]

    def anmf(c, x=None, y=None, w=None, h=None):
        p = bytearray(c[1])
        for off, v in ((0, x), (3, y), (6, w), (9, h)):
            if v is not None:
                p[off:off + 3] = struct.pack("<I", v)[:3]
        return (b"ANMF", bytes(p))
    write("webp", "hand_anim_anmf_size_differs.webp", riff(head + [anmf(frames[0], w=3, h=3)] + frames[1:]))
    write("webp", "hand_anim_later_frame_outside_refused.webp", riff(head + frames[:1] + [anmf(frames[1], x=40)]))
    write("webp", "hand_anim_anmf_before_anim_refused.webp", riff([head[0]] + frames + [head[1]]))
    write("webp", "hand_anim_offset_frame.webp",
          riff([vp8x(0x02, 60, 40), head[1], anmf(frames[0], x=5, y=4)] + frames[1:]))
    # Refused: files cut short (RIFF size larger than the file).
    data = open(out("webp", "lossy_q75.webp"), "rb").read()
    write("webp", "lossy_truncated_refused.webp", data[: len(data) * 2 // 3])
    data = open(out("webp", "lossless_z6.webp"), "rb").read()
    write("webp", "lossless_truncated_refused.webp", data[: len(data) * 2 // 3])

    # Cut bitstreams inside consistent RIFF / chunk sizes, and flipped bytes: whatever
    # libwebp makes of them (an error, or pixels from the damaged stream), we must too.
    def resized(data, n):
        d = bytearray(data[:n])
        d[4:8] = struct.pack("<I", n - 8)
        pos, last = 12, 12
        while pos + 8 <= n:
            last = pos
            ln = struct.unpack("<I", d[pos + 4:pos + 8])[0]
            if ln > n - pos - 8:
                break
            pos += 8 + ln + (ln & 1)
        d[last + 4:last + 8] = struct.pack("<I", n - last - 8)
        return bytes(d)

    for name in ("lossy_q75", "lossless_z6", "lossy_alpha_m1_best", "lossy_alpha_m0_none"):
        data = open(out("webp", name + ".webp"), "rb").read()
        for frac in (50, 90, 99):
            write("webp", "damaged_%s_cut%d.webp" % (name, frac), resized(data, len(data) * frac // 100))
        for k, at in enumerate((len(data) // 3, len(data) // 2, len(data) * 4 // 5)):
            d = bytearray(data)
            d[at] ^= 0x5A
            write("webp", "damaged_%s_flip%d.webp" % (name, k), bytes(d))


# ---------------------------------------------------------------------------- manifest
def sha(b):
    return hashlib.sha256(b).hexdigest()


def manifest():
    entries = []
    for cls in sorted(os.listdir(OUT)):
        d = os.path.join(OUT, cls)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            e = {"file": cls + "/" + name, "class": cls}
            try:
                with Image.open(path) as im:
                    im.load()
                    e["width"], e["height"] = im.size
                    e["mode"] = im.mode
                    e["rgb"] = sha(im.convert("RGB").tobytes())
                    e["rgba"] = sha(im.convert("RGBA").tobytes())
                    e["orientation"] = int(im.getexif().get(0x0112, 1))  # what exif_transpose applies
            except Exception as ex:  # noqa: BLE001 - any refusal is an expected error
                e["error"] = "%s: %s" % (type(ex).__name__, ex)
            entries.append(e)
    import PIL
    doc = {"pillow": PIL.__version__, "files": entries}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    by = {}
    for e in entries:
        k = (e["class"], "error" in e)
        by[k] = by.get(k, 0) + 1
    for (cls, err), n in sorted(by.items()):
        print("%-5s %s %d" % (cls, "refused" if err else "decoded", n))


if __name__ == "__main__":
    warnings.simplefilter("ignore")  # Pillow warns about the deliberately minimal EXIF block
    for cls in ("bmp", "gif", "webp"):
        shutil.rmtree(os.path.join(OUT, cls), ignore_errors=True)
    gen_bmp()
    gen_gif()
    gen_webp()
    manifest()
    shutil.rmtree(TMP, ignore_errors=True)
