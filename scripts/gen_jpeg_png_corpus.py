#!/usr/bin/env python3
"""Generate the JPEG / PNG conformance corpus in tests/data/jpeg_png/ and its manifest.

Every file gets the pixels Pillow produces for it (the reference of io/jpeg.hpp and
io/png.hpp): sha256 of Image.open(f).convert("RGB").tobytes(), of convert("RGBA") when the
image has alpha or a transparency key, and of ImageOps.exif_transpose(...).convert("RGB") (the
load_image() path), or the fact that Pillow refuses the file. tests/io/jpeg_png_corpus_test.cpp
decodes every file and compares; no Python runs at test time.

Tools: Pillow (python3 -m pip install pillow, or /work/venv), cjpeg / jpegtran
(libjpeg-turbo-progs), ImageMagick's convert. Lossless and 12-bit JPEGs need a libjpeg-turbo 3.x
cjpeg: set CJPEG3=/path/to/cjpeg (those files are skipped when it is absent).

    python3 scripts/gen_jpeg_png_corpus.py [--out tests/data/jpeg_png]
"""
import argparse
import hashlib
import io
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image, ImageOps, features

OUT = "tests/data/jpeg_png"
TMP = tempfile.mkdtemp(prefix="jpegpng-")
CJPEG = os.environ.get("CJPEG", "cjpeg")
JPEGTRAN = os.environ.get("JPEGTRAN", "jpegtran")
CJPEG3 = os.environ.get("CJPEG3", "")
CONVERT = os.environ.get("CONVERT", "/usr/bin/convert" if os.path.exists("/usr/bin/convert") else "convert")

entries = []


# --------------------------------------------------------------------------------------------
# Source pictures
# --------------------------------------------------------------------------------------------

def photo(w, h, seed=1):
    """A small photo-like RGB picture: gradients, a disc, texture and sharp edges."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / max(w, 1) * 3.1 + seed) * np.cos(y / max(h, 1) * 2.3)
    g = 60 + 150 * (x + y) / max(w + h, 1)
    b = 200 - 120 * y / max(h, 1)
    disc = ((x - w * 0.6) ** 2 + (y - h * 0.4) ** 2) < (min(w, h) * 0.25) ** 2
    r[disc], g[disc], b[disc] = 240, 40, 30
    img = np.stack([r, g, b], -1) + rng.normal(0, 12, (h, w, 3))
    img[:, (w * 2) // 3:(w * 2) // 3 + 1] = 255
    return np.clip(img, 0, 255).astype(np.uint8)


def ppm(arr):
    path = os.path.join(TMP, "src_%d.ppm" % random.getrandbits(32))
    Image.fromarray(arr).save(path)
    return path


def pgm(arr):
    path = os.path.join(TMP, "src_%d.pgm" % random.getrandbits(32))
    Image.fromarray(arr).convert("L").save(path)
    return path


def run(cmd, data=None):
    p = subprocess.run(cmd, input=data, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), p.stderr.decode(errors="replace")))
    return p.stdout


def cjpeg(args, src, exe=None):
    return run([exe or CJPEG] + args + [src])


def scans_file(text):
    path = os.path.join(TMP, "scans_%d.txt" % random.getrandbits(32))
    with open(path, "w") as f:
        f.write(text)
    return path


# --------------------------------------------------------------------------------------------
# Pillow's answer
# --------------------------------------------------------------------------------------------

def sha(b):
    return hashlib.sha256(b).hexdigest()


def pillow(data):
    e = {}
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except Exception as ex:  # noqa: BLE001 - any refusal is "Pillow refuses the file"
        e["ok"] = False
        msg = re.sub(r" <_io\.BytesIO object at 0x[0-9a-f]+>", "", str(ex))  # reproducible manifest
        e["error"] = "%s: %s" % (type(ex).__name__, msg[:120])
        return e
    e["ok"] = True
    e["mode"] = im.mode
    e["width"], e["height"] = im.size
    e["transparency"] = "transparency" in im.info
    e["rgb"] = sha(im.convert("RGB").tobytes())
    if im.mode in ("LA", "RGBA", "PA") or e["transparency"]:
        try:
            e["rgba"] = sha(im.convert("RGBA").tobytes())
        except Exception as ex:  # noqa: BLE001 - e.g. a tRNS longer than 256 entries
            e["rgba_error"] = "%s: %s" % (type(ex).__name__, str(ex)[:120])
    try:
        im2 = Image.open(io.BytesIO(data))
        im2 = ImageOps.exif_transpose(im2)
        e["oriented"] = sha(im2.convert("RGB").tobytes())
    except Exception as ex:  # noqa: BLE001
        e["oriented_error"] = "%s: %s" % (type(ex).__name__, str(ex)[:120])
    return e


def add(name, cls, data, note=""):
    ext = ".png" if data[:8] == b"\x89PNG\r\n\x1a\n" else ".jpg"
    fname = name + ext
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(data)
    e = {"file": fname, "class": cls}
    if note:
        e["note"] = note
    e.update(pillow(data))
    entries.append(e)


# --------------------------------------------------------------------------------------------
# JPEG surgery
# --------------------------------------------------------------------------------------------

def segments(d):
    """Split a JPEG into [(marker, bytes)] where bytes is the whole segment (marker included);
    a scan's entropy-coded data is kept with its SOS segment."""
    out = []
    i = 2
    out.append((0xD8, d[:2]))
    while i < len(d):
        if d[i] != 0xFF:
            raise ValueError("not at a marker")
        m = d[i + 1]
        if m == 0xD9:
            out.append((m, d[i:i + 2]))
            i += 2
            if i < len(d):
                out.append((-1, d[i:]))
            break
        n = d[i + 2] << 8 | d[i + 3]
        j = i + 2 + n
        if m == 0xDA:
            while j < len(d) and not (d[j] == 0xFF and d[j + 1] not in (0, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7)):
                j += 1
        out.append((m, d[i:j]))
        i = j
    return out


def join(segs):
    return b"".join(s for _, s in segs)


def entropy_span(d, scan=0):
    """(start, end) of the entropy-coded data of scan number `scan`."""
    i = 0
    k = 0
    for m, s in segments(d):
        if m == 0xDA:
            n = s[2] << 8 | s[3]
            if k == scan:
                return i + 2 + n, i + len(s)
            k += 1
        i += len(s)
    raise ValueError("no such scan")


def app1_exif(orientation=None, typ=3, count=1, le=True, value_bytes=None, extra_entries=()):
    """An APP1 Exif segment with an IFD0 holding Orientation (and maybe other entries)."""
    E = "<" if le else ">"
    entries_ = []
    if orientation is not None:
        if value_bytes is None:
            if typ == 3:
                value_bytes = struct.pack(E + "H", orientation) + b"\0\0"
            elif typ == 4:
                value_bytes = struct.pack(E + "I", orientation)
            elif typ in (1, 6, 7):
                value_bytes = bytes([orientation]) + b"\0\0\0"
            else:
                value_bytes = struct.pack(E + "I", 0)
        entries_.append((0x0112, typ, count, value_bytes))
    entries_ += list(extra_entries)
    tiff = (b"II*\0" if le else b"MM\0*") + struct.pack(E + "I", 8)
    ifd = struct.pack(E + "H", len(entries_))
    for tag, t, c, v in entries_:
        ifd += struct.pack(E + "HHI", tag, t, c) + v
    ifd += struct.pack(E + "I", 0)
    payload = b"Exif\0\0" + tiff + ifd
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def app1_xmp(orientation, attr=True):
    body = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description ' +
            (b'tiff:Orientation="%d"/>' % orientation if attr else b"><tiff:Orientation>%d</tiff:Orientation></rdf:Description>" % orientation) +
            b"</rdf:RDF></x:xmpmeta>")
    payload = b"http://ns.adobe.com/xap/1.0/\0" + body
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def insert_after_soi(d, seg):
    return d[:2] + seg + d[2:]


def gen_jpeg():
    base = photo(48, 32, 1)
    p48 = ppm(base)
    odd = ppm(photo(37, 23, 2))
    # -- sampling factors: every ratio libjpeg-turbo upsamples differently ------------------
    samplings = ["1x1,1x1,1x1", "2x1,1x1,1x1", "2x2,1x1,1x1", "1x2,1x1,1x1", "4x1,1x1,1x1", "4x2,1x1,1x1",
                 "2x2,1x2,1x2", "2x2,2x1,2x1", "2x2,1x1,2x2", "1x1,2x2,2x2", "3x1,1x1,1x1", "1x3,1x1,1x1",
                 "3x2,1x1,1x1", "2x3,1x1,1x1", "4x2,2x1,2x1", "2x4,1x2,1x2", "2x1,1x2,1x2", "1x2,2x1,2x1",
                 "3x1,3x1,1x1", "2x2,2x2,1x1"]
    big = scans_file("0;\n1;\n2;\n")

    def sampled(args, src):
        try:
            return cjpeg(args, src)
        except RuntimeError:  # more than 10 blocks per MCU: one scan per component
            return cjpeg(args + ["-scans", big], src)

    for s in samplings:
        tag = s.replace(",", "_")
        add("samp_%s_48x32" % tag, "sampling", sampled(["-quality", "90", "-sample", s], p48))
        add("samp_%s_37x23" % tag, "sampling", sampled(["-quality", "85", "-sample", s], odd))
    for (w, h) in [(1, 1), (2, 2), (3, 17), (17, 3), (5, 40), (40, 5), (33, 33), (2, 9), (9, 2)]:
        src = ppm(photo(w, h, w * 100 + h))
        for s in ["2x2,1x1,1x1", "2x1,1x1,1x1", "1x2,1x1,1x1", "4x1,1x1,1x1"]:
            add("size_%dx%d_%s" % (w, h, s.replace(",", "_")), "sampling", cjpeg(["-quality", "92", "-sample", s], src))
    # Factors too large for one interleaved scan: one sequential scan per component.
    add("samp_4x4_2x2_2x2_scans", "sampling", cjpeg(["-sample", "4x4,2x2,2x2", "-scans", big], odd))
    add("samp_4x4_1x1_1x1_scans", "sampling", cjpeg(["-sample", "4x4,1x1,1x1", "-scans", big], p48))
    add("samp_3x3_1x1_1x1_scans", "sampling", cjpeg(["-sample", "3x3,1x1,1x1", "-scans", big], odd))
    # -- grayscale -------------------------------------------------------------------------
    g = pgm(photo(45, 29, 5))
    add("gray_45x29", "gray", cjpeg(["-quality", "90"], g))
    add("gray_2x2_45x29", "gray", cjpeg(["-sample", "2x2"], g))
    add("gray_3x1_45x29", "gray", cjpeg(["-sample", "3x1"], g))
    add("gray_1x4_45x29", "gray", cjpeg(["-sample", "1x4"], g))
    add("gray_prog_45x29", "gray", cjpeg(["-progressive"], g))
    add("gray_1x1", "gray", cjpeg([], pgm(photo(1, 1, 9))))
    add("rgb_to_gray_cjpeg", "gray", cjpeg(["-grayscale"], p48))
    # -- RGB colour space (no YCbCr transform) -----------------------------------------------
    add("rgb_adobe0", "rgb", cjpeg(["-rgb"], p48))
    add("rgb_adobe0_420", "rgb", cjpeg(["-rgb", "-sample", "2x2,1x1,1x1"], odd))
    d = cjpeg(["-quality", "90"], p48)  # JFIF, YCbCr: drop JFIF and rename components R,G,B
    segs = [s for s in segments(d) if s[0] != 0xE0]
    out = []
    for m, s in segs:
        if m in (0xC0,):
            s = bytearray(s)
            s[10], s[13], s[16] = ord("R"), ord("G"), ord("B")
            s = bytes(s)
        if m == 0xDA:
            s = bytearray(s)
            s[5], s[7], s[9] = ord("R"), ord("G"), ord("B")
            s = bytes(s)
        out.append((m, s))
    add("ids_RGB_no_jfif", "rgb", join(out), "YCbCr data read as RGB because the component ids are 'R','G','B'")
    out2 = [(m, s) for m, s in segments(d)]
    add("ids_RGB_with_jfif", "rgb", join([out2[0], out2[1]] + out[1:]), "JFIF wins: YCbCr")
    # -- progressive -----------------------------------------------------------------------
    add("prog_420", "progressive", cjpeg(["-progressive"], odd))
    add("prog_444", "progressive", cjpeg(["-progressive", "-sample", "1x1,1x1,1x1"], p48))
    add("prog_422_rst", "progressive", cjpeg(["-progressive", "-sample", "2x1,1x1,1x1", "-restart", "1"], odd))
    add("prog_411", "progressive", cjpeg(["-progressive", "-sample", "4x1,1x1,1x1"], ppm(photo(71, 19, 3))))
    spectral = scans_file("0,1,2: 0-0, 0, 0;\n0: 1-5, 0, 0;\n2: 1-63, 0, 0;\n1: 1-63, 0, 0;\n0: 6-63, 0, 0;\n")
    add("prog_spectral", "progressive", cjpeg(["-scans", spectral], odd))
    sa = scans_file("0,1,2: 0-0, 0, 2;\n0: 1-9, 0, 3;\n0: 10-63, 0, 3;\n1: 1-63, 0, 1;\n2: 1-63, 0, 1;\n"
                    "0,1,2: 0-0, 2, 1;\n0,1,2: 0-0, 1, 0;\n0: 1-63, 3, 2;\n0: 1-63, 2, 1;\n0: 1-63, 1, 0;\n"
                    "1: 1-63, 1, 0;\n2: 1-63, 1, 0;\n")
    add("prog_successive", "progressive", cjpeg(["-scans", sa], odd))
    add("prog_successive_rst", "progressive", cjpeg(["-scans", sa, "-restart", "2B"], odd))
    noninter = scans_file("0: 0-0, 0, 1;\n1: 0-0, 0, 0;\n2: 0-0, 0, 0;\n0: 0-0, 1, 0;\n0: 1-63, 0, 0;\n1: 1-63, 0, 0;\n2: 1-63, 0, 0;\n")
    add("prog_noninterleaved_dc", "progressive", cjpeg(["-scans", noninter, "-sample", "2x2,1x1,1x1"], odd))
    seq_scans = scans_file("0;\n1;\n2;\n")
    add("seq_multiscan", "progressive", cjpeg(["-scans", seq_scans], p48), "sequential, one scan per component")
    # -- progressive with scans missing: libjpeg's block smoothing ------------------------
    full = cjpeg(["-scans", sa], ppm(photo(64, 48, 7)))
    segs = segments(full)
    scan_idx = [i for i, (m, _) in enumerate(segs) if m == 0xDA]
    def keep(keep_scans, name, note):
        drop = set(scan_idx) - set(scan_idx[k] for k in keep_scans)
        add(name, "progressive_missing", join([s for i, s in enumerate(segs) if i not in drop]), note)
    keep([0], "missing_dc_only", "only the first DC scan (Al=2): smoothing with DC interpolation")
    keep([0, 5, 6], "missing_dc_full", "DC complete, no AC: smoothing estimates AC01..AC30 and DC")
    keep([0, 1], "missing_dc_ac_lowband", "DC + luma AC 1..9 at Al=3")
    keep([0, 1, 2, 3, 4], "missing_refinements", "all first scans, no refinement")
    keep([0, 1, 2, 3, 4, 5, 6, 7], "missing_tail", "luma AC refinement incomplete")
    keep(list(range(len(scan_idx) - 1)), "missing_last_scan", "")
    keep([0, 1, 3, 5, 6, 7, 8, 9, 10, 11], "missing_one_chroma_ac", "")
    wide = cjpeg(["-progressive"], ppm(photo(96, 20, 11)))
    segs2 = segments(wide)
    si = [i for i, (m, _) in enumerate(segs2) if m == 0xDA]
    add("missing_default_prog_first2", "progressive_missing", join([s for i, s in enumerate(segs2) if i not in si[2:]]))
    tall = cjpeg(["-progressive", "-sample", "1x2,1x1,1x1"], ppm(photo(20, 83, 12)))
    segs3 = segments(tall)
    si3 = [i for i, (m, _) in enumerate(segs3) if m == 0xDA]
    add("missing_tall_1x2_first3", "progressive_missing", join([s for i, s in enumerate(segs3) if i not in si3[3:]]))
    gp = segments(cjpeg(["-progressive"], pgm(photo(21, 45, 13))))
    sig = [i for i, (m, _) in enumerate(gp) if m == 0xDA]
    add("missing_gray_dc_only", "progressive_missing", join([s for i, s in enumerate(gp) if i not in sig[1:]]))
    # -- restarts ----------------------------------------------------------------------------
    add("rst_rows_420", "restart", cjpeg(["-restart", "1"], odd))
    add("rst_2blocks_444", "restart", cjpeg(["-restart", "2B", "-sample", "1x1,1x1,1x1"], p48))
    add("rst_1block_gray", "restart", cjpeg(["-restart", "1B"], g))
    add("rst_7blocks_422", "restart", cjpeg(["-restart", "7B", "-sample", "2x1,1x1,1x1"], odd))
    # -- arithmetic coding -------------------------------------------------------------------
    add("arith_420", "arithmetic", cjpeg(["-arithmetic"], odd))
    add("arith_444", "arithmetic", cjpeg(["-arithmetic", "-sample", "1x1,1x1,1x1"], p48))
    add("arith_gray", "arithmetic", cjpeg(["-arithmetic"], g))
    add("arith_prog", "arithmetic", cjpeg(["-arithmetic", "-progressive"], odd))
    add("arith_prog_successive", "arithmetic", cjpeg(["-arithmetic", "-scans", sa], odd))
    add("arith_rst", "arithmetic", cjpeg(["-arithmetic", "-restart", "1"], odd))
    add("arith_prog_rst", "arithmetic", cjpeg(["-arithmetic", "-progressive", "-restart", "3B"], odd))
    add("arith_411", "arithmetic", cjpeg(["-arithmetic", "-sample", "4x1,1x1,1x1"], ppm(photo(71, 19, 3))))
    # Non-default conditioning: a DAC segment with other L/U/K values (the data then decodes
    # to something else, but deterministically: Pillow's pixels are the reference).
    a = cjpeg(["-arithmetic"], odd)
    segs = segments(a)
    dac = b"\xff\xcc\x00\x0e" + bytes([0x00, 0x52, 0x01, 0x31, 0x10, 0x0c, 0x11, 0x02, 0x12, 0x3f, 0x02, 0x20])
    idx = [i for i, (m, _) in enumerate(segs) if m == 0xDA][0]
    add("arith_dac_custom", "arithmetic", join(segs[:idx]) + dac + join(segs[idx:]), "conditioning L=2 U=5, K=12/2")
    ap = cjpeg(["-arithmetic", "-progressive"], p48)
    segs = segments(ap)
    idx = [i for i, (m, _) in enumerate(segs) if m == 0xDA][0]
    add("arith_prog_dac_custom", "arithmetic", join(segs[:idx]) + b"\xff\xcc\x00\x06\x00\x41\x10\x03" + join(segs[idx:]))
    # -- CMYK / YCCK ------------------------------------------------------------------------
    cm = Image.fromarray(photo(40, 28, 21)).convert("CMYK")
    buf = io.BytesIO()
    cm.save(buf, "JPEG", quality=90)
    cmyk = buf.getvalue()
    add("cmyk_adobe0", "cmyk", cmyk, "Pillow's CMYK (Adobe transform 0)")
    add("cmyk_no_adobe", "cmyk", join([s for s in segments(cmyk) if not (s[0] == 0xEE)]), "no APP14: CMYK")
    t1 = join([(m, s[:15] + b"\x01" + s[16:]) if m == 0xEE else (m, s) for m, s in segments(cmyk)])
    add("cmyk_data_adobe1", "cmyk", t1, "transform 1 on 4 components: read as YCCK")
    buf = io.BytesIO()
    cm.save(buf, "JPEG", quality=90, progressive=True)
    add("cmyk_prog", "cmyk", buf.getvalue())
    buf = io.BytesIO()
    Image.fromarray(photo(33, 21, 22)).convert("CMYK").save(buf, "JPEG", quality=80, subsampling=2)
    add("cmyk_sub", "cmyk", buf.getvalue())
    src = ppm(photo(37, 23, 23))
    ycck = run([CONVERT, src, "-colorspace", "CMYK", "-quality", "88", "jpg:-"])
    add("ycck_im", "cmyk", ycck, "ImageMagick writes YCCK (Adobe transform 2)")
    ycck2 = run([CONVERT, src, "-colorspace", "CMYK", "-sampling-factor", "2x2,1x1,1x1,2x2", "-quality", "70", "jpg:-"])
    add("ycck_im_sub", "cmyk", ycck2)
    t0 = join([(m, s[:15] + b"\x00" + s[16:]) if m == 0xEE else (m, s) for m, s in segments(ycck)])
    add("ycck_data_adobe0", "cmyk", t0, "YCCK data with transform 0: read as CMYK")
    # -- motion JPEG: no DHT -------------------------------------------------------------------
    for nm, args, src_ in [("mjpeg_420", [], odd), ("mjpeg_422", ["-sample", "2x1,1x1,1x1"], p48), ("mjpeg_gray", [], g)]:
        d = cjpeg(["-quality", "75"] + args, src_)
        add(nm, "mjpeg", join([s for s in segments(d) if s[0] != 0xC4]), "standard tables of Annex K")
    d = cjpeg(["-progressive"], odd)
    add("mjpeg_prog_no_dht", "mjpeg", join([s for s in segments(d) if s[0] != 0xC4]), "progressive: no defaults, refused")
    # -- lossless (libjpeg-turbo 3) -------------------------------------------------------------
    if CJPEG3:
        lg = pgm(photo(31, 17, 31))
        for psv in range(1, 8):
            add("lossless_gray_psv%d" % psv, "lossless", cjpeg(["-lossless", str(psv)], lg, CJPEG3))
        add("lossless_gray_pt3", "lossless", cjpeg(["-lossless", "4,3"], lg, CJPEG3))
        add("lossless_gray_rst", "lossless", cjpeg(["-lossless", "6", "-restart", "2"], lg, CJPEG3))
        lr = ppm(photo(23, 13, 32))
        add("lossless_rgb_psv1", "lossless", cjpeg(["-lossless", "1", "-rgb"], lr, CJPEG3))
        add("lossless_rgb_psv7_pt2", "lossless", cjpeg(["-lossless", "7,2", "-rgb"], lr, CJPEG3))
        add("lossless_ycc_refused", "lossless", cjpeg(["-lossless", "1"], lr, CJPEG3), "YCbCr lossless: libjpeg refuses")
        add("lossless_rgb_sub", "lossless", cjpeg(["-lossless", "5", "-rgb", "-sample", "2x1,1x1,1x1"], lr, CJPEG3))
        add("lossless_rgb_scans", "lossless",
            cjpeg(["-lossless", "2", "-rgb", "-scans", scans_file("0;\n1;\n2;\n")], lr, CJPEG3))
        add("precision12", "unsupported", cjpeg(["-precision", "12"], lr, CJPEG3), "Pillow: cannot handle 12-bit")
        add("lossless_precision12", "unsupported", cjpeg(["-lossless", "1", "-precision", "12"], lg, CJPEG3))
    # -- unsupported / refused ---------------------------------------------------------------
    d = cjpeg([], p48)
    segs = segments(d)
    sof = [i for i, (m, _) in enumerate(segs) if m == 0xC0][0]
    def patch_sof(fn):
        s = bytearray(segs[sof][1])
        fn(s)
        return join(segs[:sof] + [(0xC0, bytes(s))] + segs[sof + 1:])
    add("sof5_hierarchical", "unsupported", patch_sof(lambda s: s.__setitem__(1, 0xC5)))
    add("sof11_lossless_arith", "unsupported", patch_sof(lambda s: s.__setitem__(1, 0xCB)))
    add("fractional_3x1_2x1", "unsupported", patch_sof(lambda s: (s.__setitem__(11, 0x31), s.__setitem__(14, 0x21))),
        "fractional sampling: libjpeg refuses")
    add("height0_dnl", "unsupported", patch_sof(lambda s: (s.__setitem__(5, 0), s.__setitem__(6, 0))))
    add("sampling_5", "unsupported", patch_sof(lambda s: s.__setitem__(11, 0x51)))
    # -- markers and layout ------------------------------------------------------------------
    d = cjpeg(["-quality", "80"], odd)
    segs = segments(d)
    sos = [i for i, (m, _) in enumerate(segs) if m == 0xDA][0]
    add("junk_between_markers", "markers", join(segs[:2]) + b"junk\x00\x01" + join(segs[2:]))
    add("fill_ff_bytes", "markers", join(segs[:3]) + b"\xff\xff\xff" + join(segs[3:]))
    add("com_app_unknown", "markers", join(segs[:sos]) + b"\xff\xfe\x00\x07hello\xff\xe7\x00\x04ab" + join(segs[sos:]))
    add("dnl_ignored", "markers", join(segs[:sos]) + b"\xff\xdc\x00\x04\x00\x17" + join(segs[sos:]))
    add("rst_in_header", "markers", join(segs[:sos]) + b"\xff\xd3" + join(segs[sos:]))
    add("tem_in_header", "markers", join(segs[:sos]) + b"\xff\x01" + join(segs[sos:]), "Pillow's parser refuses TEM")
    add("double_soi", "markers", join(segs[:1]) + b"\xff\xd8" + join(segs[1:]))
    add("trailing_garbage", "markers", d + b"\x00garbage\xff\xd8")
    add("no_eoi_marker_after_scan", "markers", d[:-2] + b"\xff\xfe\x00\x04ab",
        "single-scan: the scan ends at a COM marker and the file ends without EOI")
    add("second_sos_single", "markers", d[:-2] + join([segs[sos]]) + b"\xff\xd9", "EOI expected")
    add("sof_after_scan", "markers", d[:-2] + segs[[i for i, (m, _) in enumerate(segs) if m == 0xC0][0]][1] + b"\xff\xd9")
    add("bogus_app_length", "markers", join(segs[:2]) + b"\xff\xe5\x00\x01" + join(segs[2:]), "APP5 length 1")
    add("dqt_after_frame_before_scan", "markers", join(segs[:sos]) + join([s for s in segs if s[0] == 0xDB][:1]) + join(segs[sos:]))
    p = cjpeg(["-progressive"], odd)
    ps = segments(p)
    s2 = [i for i, (m, _) in enumerate(ps) if m == 0xDA][2]
    add("prog_tables_between_scans", "markers", join(ps[:s2]) + b"\xff\xdd\x00\x04\x00\x00\xff\xfe\x00\x04zz" + join(ps[s2:]))
    # -- EXIF / XMP orientation ---------------------------------------------------------------
    d = cjpeg(["-quality", "85"], ppm(photo(24, 16, 41)))
    for o in range(1, 9):
        add("exif_orient_%d" % o, "orientation", insert_after_soi(d, app1_exif(o)))
    add("exif_orient_6_be", "orientation", insert_after_soi(d, app1_exif(6, le=False)))
    add("exif_orient_long", "orientation", insert_after_soi(d, app1_exif(6, typ=4)))
    add("exif_orient_byte", "orientation", insert_after_soi(d, app1_exif(6, typ=1)), "BYTE: Pillow keeps bytes")
    add("exif_orient_rational", "orientation",
        insert_after_soi(d, app1_exif(6, typ=5, value_bytes=struct.pack("<I", 30)) + b""), "RATIONAL out of line")
    add("exif_orient_0", "orientation", insert_after_soi(d, app1_exif(0)))
    add("exif_orient_9", "orientation", insert_after_soi(d, app1_exif(9)))
    add("exif_orient_count2", "orientation", insert_after_soi(d, app1_exif(5, count=2)))
    add("xmp_orient_6", "orientation", insert_after_soi(d, app1_xmp(6)))
    add("xmp_orient_8_element", "orientation", insert_after_soi(d, app1_xmp(8, attr=False)))
    add("xmp_and_exif", "orientation", insert_after_soi(d, app1_exif(3) + app1_xmp(6)), "EXIF wins")
    add("xmp_and_exif_no_tag", "orientation", insert_after_soi(d, app1_exif(None) + app1_xmp(6)), "no EXIF tag: XMP")
    add("xmp_and_exif_tag1", "orientation", insert_after_soi(d, app1_exif(1) + app1_xmp(6)), "EXIF tag 1 hides XMP")
    add("two_xmp", "orientation", insert_after_soi(d, app1_xmp(6) + app1_xmp(3)), "the last XMP wins")
    add("two_exif", "orientation", insert_after_soi(d, app1_exif(6) + app1_exif(3)), "concatenated: the first IFD")
    add("exif_after_scan", "orientation", d[:-2] + app1_exif(6) + b"\xff\xd9", "after SOS: ignored by Pillow")
    add("exif_garbage", "orientation", insert_after_soi(d, b"\xff\xe1\x00\x0eExif\0\0garbage") + b"", "broken EXIF")
    # -- corrupt but complete (EOI present) ---------------------------------------------------
    rnd = random.Random(1234)
    bases = {
        "base420": cjpeg(["-quality", "90"], ppm(photo(56, 40, 51))),
        "base444": cjpeg(["-quality", "95", "-sample", "1x1,1x1,1x1"], ppm(photo(40, 24, 52))),
        "rst420": cjpeg(["-quality", "90", "-restart", "1"], ppm(photo(40, 112, 53))),
        "rstblk": cjpeg(["-quality", "90", "-restart", "3B"], ppm(photo(56, 40, 54))),
        "prog": cjpeg(["-progressive"], ppm(photo(56, 40, 55))),
        "progrst": cjpeg(["-progressive", "-restart", "2B"], ppm(photo(56, 40, 56))),
        "arith": cjpeg(["-arithmetic"], ppm(photo(56, 40, 57))),
        "arithrst": cjpeg(["-arithmetic", "-restart", "1"], ppm(photo(56, 40, 58))),
        "arithprog": cjpeg(["-arithmetic", "-progressive"], ppm(photo(56, 40, 59))),
        "gray": cjpeg([], pgm(photo(56, 40, 60))),
    }
    if CJPEG3:
        bases["lossless"] = cjpeg(["-lossless", "1", "-restart", "3"], pgm(photo(40, 30, 61)), CJPEG3)
    for nm, d in bases.items():
        n_scans = sum(1 for m, _ in segments(d) if m == 0xDA)
        for k in range(4):
            scan = rnd.randrange(n_scans)
            s, e = entropy_span(d, scan)
            b = bytearray(d)
            for _ in range(1 + k):
                at = rnd.randrange(s, e)
                b[at] ^= 1 << rnd.randrange(8)
            add("corrupt_%s_flip%d" % (nm, k), "corrupt", bytes(b))
        s, e = entropy_span(d, 0)
        cut = s + (e - s) * 2 // 3
        add("corrupt_%s_premature_eoi" % nm, "corrupt", d[:cut] + b"\xff\xd9", "entropy data cut, EOI appended")
        b = bytearray(d)
        for at in range(s + (e - s) // 3, s + (e - s) // 3 + 6):
            b[at] = rnd.randrange(256)
        add("corrupt_%s_burst" % nm, "corrupt", bytes(b))
    # Restart markers renumbered, removed, duplicated.
    d = bases["rst420"]
    s, e = entropy_span(d, 0)
    body = bytearray(d[s:e])
    rsts = [i for i in range(len(body) - 1) if body[i] == 0xFF and 0xD0 <= body[i + 1] <= 0xD7]
    b = bytearray(body)
    b[rsts[1] + 1] = 0xD0 + ((b[rsts[1] + 1] - 0xD0 + 3) & 7)
    add("corrupt_rst_wrong_number", "corrupt", d[:s] + bytes(b) + d[e:])
    b = bytearray(body)
    del b[rsts[2]:rsts[2] + 2]
    add("corrupt_rst_missing", "corrupt", d[:s] + bytes(b) + d[e:])
    b = bytearray(body)
    b[rsts[1]:rsts[1]] = b"\x12\x34\xff\x00\x56"
    add("corrupt_rst_garbage_before", "corrupt", d[:s] + bytes(b) + d[e:])
    b = bytearray(body)
    b[rsts[3] + 1] = 0xD0 + ((b[rsts[3] + 1] - 0xD0 - 1) & 7)
    add("corrupt_rst_previous_number", "corrupt", d[:s] + bytes(b) + d[e:])
    b = bytearray(body)
    b[rsts[2]:rsts[2]] = b"\xff\xc4"  # a bogus marker inside the data
    add("corrupt_marker_in_data", "corrupt", d[:s] + bytes(b) + d[e:])
    b = bytearray(body)
    b[rsts[1] + 1] = 0x02  # an invalid marker code where a restart was expected
    add("corrupt_rst_invalid_code", "corrupt", d[:s] + bytes(b) + d[e:])
    # Large coefficients (IDCT 16-bit wrap / saturation): DC drifting far after a bit flip.
    big = cjpeg(["-quality", "100", "-sample", "1x1,1x1,1x1"], ppm(photo(64, 64, 71)))
    s, e = entropy_span(big, 0)
    for k in range(4):
        b = bytearray(big)
        for at in rnd.sample(range(s, s + (e - s) // 4), 3):
            b[at] = rnd.randrange(256)
        add("corrupt_q100_%d" % k, "corrupt", bytes(b), "quality 100: large coefficients")
    # -- truncated (no EOI): errors in Pillow ---------------------------------------------------
    d = bases["base420"]
    s, e = entropy_span(d, 0)
    add("trunc_mid_scan", "truncated", d[:(s + e) // 2])
    add("trunc_no_eoi", "truncated", d[:-2])
    add("trunc_header", "truncated", d[:s - 5])
    add("trunc_prog_no_eoi", "truncated", bases["prog"][:-2])
    add("trunc_arith_no_eoi", "truncated", bases["arith"][:-2])
    add("trunc_soi_only", "truncated", d[:3])


# --------------------------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------------------------

def chunk(t, d, crc=None):
    c = struct.pack(">I", len(d)) + t + d
    return c + struct.pack(">I", (zlib.crc32(t + d) & 0xFFFFFFFF) if crc is None else crc)


SIG = b"\x89PNG\r\n\x1a\n"


def ihdr(w, h, depth, ctype, il=0, comp=0, filt=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, comp, filt, il))


def raw_rows(w, h, depth, ctype, rng):
    spp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    row = (w * spp * depth + 7) // 8
    out = b""
    for y in range(h):
        out += bytes([rng.randrange(5)]) + bytes(rng.randrange(256) for _ in range(row))
    return out


def adam7(w, h, depth, ctype, rng):
    spp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    out = b""
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        pw = (w - x0 + dx - 1) // dx if w > x0 else 0
        ph = (h - y0 + dy - 1) // dy if h > y0 else 0
        if pw and ph:
            out += raw_rows(pw, ph, depth, ctype, rng)
    return out


def gen_png():
    rng = random.Random(99)
    # -- every colour type and depth, plain and interlaced ------------------------------------
    for ctype, depths in [(0, [1, 2, 4, 8, 16]), (2, [8, 16]), (3, [1, 2, 4, 8]), (4, [8, 16]), (6, [8, 16])]:
        for depth in depths:
            for il in (0, 1):
                w, h = 13, 7
                data = adam7(w, h, depth, ctype, rng) if il else raw_rows(w, h, depth, ctype, rng)
                plte = chunk(b"PLTE", bytes(rng.randrange(256) for _ in range(3 * (1 << depth)))) if ctype == 3 else b""
                add("png_c%d_d%d%s" % (ctype, depth, "_i" if il else ""), "png_basic",
                    SIG + ihdr(w, h, depth, ctype, il) + plte + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b""))
    # -- 16-bit gray: Pillow's "I;16" clips to 255 in convert("RGB") ----------------------------
    w, h = 9, 5
    vals = [0, 1, 100, 254, 255, 256, 300, 1000, 65535]
    rows = b"".join(b"\x00" + b"".join(struct.pack(">H", vals[(x + y) % 9]) for x in range(w)) for y in range(h))
    g16 = SIG + ihdr(w, h, 16, 0) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    add("png_gray16_clip", "png_16bit", g16)
    for key in (300, 100, 255):
        add("png_gray16_trns_%d" % key, "png_16bit",
            SIG + ihdr(w, h, 16, 0) + chunk(b"tRNS", struct.pack(">H", key)) + chunk(b"IDAT", zlib.compress(rows)) +
            chunk(b"IEND", b""))
    rows = b"".join(b"\x00" + b"".join(struct.pack(">HH", vals[(x + y) % 9], vals[(x * 3 + y) % 9]) for x in range(w)) for y in range(h))
    add("png_la16", "png_16bit", SIG + ihdr(w, h, 16, 4) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    rows = b"".join(b"\x00" + b"".join(struct.pack(">HHH", vals[(x + y) % 9], 0xff, 0x0) for x in range(w)) for y in range(h))
    add("png_rgb16_trns", "png_16bit", SIG + ihdr(w, h, 16, 2) + chunk(b"tRNS", struct.pack(">HHH", 255, 0, 0)) +
        chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""), "key compared with the 8-bit value")
    # -- transparency keys and palettes ---------------------------------------------------------
    for depth in (1, 2, 4, 8):
        w, h = 11, 4
        data = raw_rows(w, h, depth, 0, rng)
        for key in (0, 1, 85, 255):
            add("png_gray%d_trns%d" % (depth, key), "png_trns",
                SIG + ihdr(w, h, depth, 0) + chunk(b"tRNS", struct.pack(">H", key)) + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b""))
    data = raw_rows(6, 5, 8, 2, rng)
    add("png_rgb_trns", "png_trns", SIG + ihdr(6, 5, 8, 2) + chunk(b"tRNS", data[1:7]) + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b""))
    add("png_gray_trns_short", "png_trns", SIG + ihdr(6, 5, 8, 0) + chunk(b"tRNS", b"\x01") + chunk(b"IDAT", zlib.compress(raw_rows(6, 5, 8, 0, rng))) + chunk(b"IEND", b""))
    pal_rows = b"".join(b"\x00" + bytes(rng.randrange(12) for _ in range(10)) for _ in range(4))
    for nm, plte, trns in [("short_plte", bytes(range(0, 18)), None), ("trns_longer", bytes(range(30, 60)), bytes([0, 50, 100, 150, 200, 250, 7, 8, 9, 10, 11, 12, 13])),
                           ("trns_single_zero", bytes(range(30, 66)), b"\xff\xff\x00\xff"), ("plte_not_multiple", bytes(range(40, 57)), None),
                           ("no_plte", None, None), ("empty_trns", bytes(range(30, 66)), b"")]:
        c = SIG + ihdr(10, 4, 8, 3) + (chunk(b"PLTE", plte) if plte is not None else b"") + (chunk(b"tRNS", trns) if trns is not None else b"")
        add("png_p_%s" % nm, "png_palette", c + chunk(b"IDAT", zlib.compress(pal_rows)) + chunk(b"IEND", b""))
    add("png_p_plte_300", "png_palette", SIG + ihdr(10, 4, 8, 3) + chunk(b"PLTE", bytes(i % 256 for i in range(900))) +
        chunk(b"IDAT", zlib.compress(pal_rows)) + chunk(b"IEND", b""))
    add("png_p_trns_300", "png_palette", SIG + ihdr(10, 4, 8, 3) + chunk(b"PLTE", bytes(range(36))) +
        chunk(b"tRNS", bytes(i % 251 for i in range(300))) + chunk(b"IDAT", zlib.compress(pal_rows)) + chunk(b"IEND", b""))
    add("png_plte_before_ihdr", "png_palette", SIG + chunk(b"PLTE", bytes(range(36))) + ihdr(10, 4, 8, 3) +
        chunk(b"IDAT", zlib.compress(pal_rows)) + chunk(b"IEND", b""))
    # -- chunk rules: CRC, ordering, unknown chunks, zero-length chunks -------------------------
    w, h = 8, 6
    data = raw_rows(w, h, 8, 2, rng)
    hd = SIG + ihdr(w, h, 8, 2)
    idat = chunk(b"IDAT", zlib.compress(data))
    end = chunk(b"IEND", b"")
    add("png_crc_bad_text_before", "png_chunks", hd + chunk(b"tEXt", b"a\0b", crc=0) + idat + end)
    add("png_crc_bad_text_after", "png_chunks", hd + idat + chunk(b"tEXt", b"a\0b", crc=0) + end)
    add("png_crc_bad_idat", "png_chunks", hd + chunk(b"IDAT", zlib.compress(data), crc=1) + end)
    add("png_crc_bad_ihdr", "png_chunks", SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0), crc=5) + idat + end)
    add("png_crc_bad_iend", "png_chunks", hd + idat + chunk(b"IEND", b"", crc=9))
    add("png_unknown_critical", "png_chunks", hd + chunk(b"ABCD", b"xyz") + idat + end)
    add("png_chunk_name_digits", "png_chunks", hd + chunk(b"a1_z", b"xyz") + idat + end)
    add("png_chunk_name_bad", "png_chunks", hd + chunk(b"a-bz", b"xyz") + idat + end)
    add("png_no_iend", "png_chunks", hd + idat)
    add("png_garbage_after_idat", "png_chunks", hd + idat + b"\x00\x01garbage")
    add("png_truncated_chunk_after_idat", "png_chunks", hd + idat + chunk(b"tEXt", b"key\0value")[:-6])
    z = zlib.compress(data)
    add("png_idat_split", "png_chunks", hd + b"".join(chunk(b"IDAT", z[i:i + 7]) for i in range(0, len(z), 7)) + end)
    add("png_idat_empty_chunks", "png_chunks", hd + chunk(b"IDAT", b"") + chunk(b"IDAT", z) + chunk(b"IDAT", b"") + end)
    add("png_idat_not_consecutive", "png_chunks", hd + chunk(b"IDAT", z[:10]) + chunk(b"tEXt", b"a\0b") + chunk(b"IDAT", z[10:]) + end)
    add("png_idat_extra_after", "png_chunks", hd + idat + chunk(b"tEXt", b"a\0b") + chunk(b"IDAT", b"junk") + end)
    add("png_zero_length_chunks", "png_chunks", hd + chunk(b"tEXt", b"") + chunk(b"zTXt", b"") + chunk(b"iTXt", b"") + chunk(b"eXIf", b"") +
        chunk(b"ruSt", b"") + idat + end)
    add("png_zero_length_gama", "png_chunks", hd + chunk(b"gAMA", b"") + idat + end, "Pillow: truncated gAMA")
    add("png_zero_length_iccp", "png_chunks", hd + chunk(b"iCCP", b"") + idat + end)
    add("png_ihdr_not_first", "png_chunks", SIG + chunk(b"tEXt", b"a\0b") + ihdr(w, h, 8, 2) + idat + end)
    add("png_two_ihdr", "png_chunks", SIG + ihdr(99, 99, 8, 0) + ihdr(w, h, 8, 2) + idat + end, "the last IHDR wins")
    add("png_interlace_2", "png_chunks", SIG + ihdr(w, h, 8, 2, il=2) + chunk(b"IDAT", zlib.compress(adam7(w, h, 8, 2, rng))) + end)
    add("png_compression_1", "png_chunks", SIG + ihdr(w, h, 8, 2, comp=1) + idat + end)
    add("png_filter_method_1", "png_chunks", SIG + ihdr(w, h, 8, 2, filt=1) + idat + end)
    add("png_bad_filter_type", "png_chunks", hd + chunk(b"IDAT", zlib.compress(b"\x07" + data[1:])) + end)
    add("png_extra_zlib_rows", "png_chunks", hd + chunk(b"IDAT", zlib.compress(data + data[:40])) + end)
    zb = bytearray(z)
    zb[-1] ^= 1
    add("png_bad_adler", "png_chunks", hd + chunk(b"IDAT", bytes(zb)) + end)
    add("png_bad_adler_split", "png_chunks", hd + chunk(b"IDAT", bytes(zb[:-4])) + chunk(b"IDAT", bytes(zb[-4:])) + end)
    add("png_short_zlib", "png_chunks", hd + chunk(b"IDAT", z[:-12]) + end)
    add("png_truncated_file", "png_chunks", (hd + idat + end)[:len(hd) + 20])
    row = 1 + 3 * w
    add("png_zlib_ends_at_row", "png_chunks", hd + chunk(b"IDAT", zlib.compress(data[:3 * row])) + end, "rows 3.. stay zero")
    add("png_zlib_ends_mid_row", "png_chunks", hd + chunk(b"IDAT", zlib.compress(data[:3 * row + 5])) + end)
    pd = raw_rows(w, h, 4, 3, rng)
    add("png_p_zlib_ends_at_row", "png_chunks", SIG + ihdr(w, h, 4, 3) + chunk(b"PLTE", bytes(range(100, 148))) +
        chunk(b"IDAT", zlib.compress(pd[:2 * (1 + (w * 4 + 7) // 8)])) + end, "missing pixels are palette entry 0")
    il = adam7(w, h, 8, 0, rng)
    add("png_adam7_zlib_ends_early", "png_chunks", SIG + ihdr(w, h, 8, 0, il=1) + chunk(b"IDAT", zlib.compress(il[:12])) + end)
    add("png_empty_after_sig", "png_chunks", SIG)
    add("png_bad_depth", "png_chunks", SIG + ihdr(w, h, 3, 0) + idat + end)
    add("png_zero_width", "png_chunks", SIG + ihdr(0, h, 8, 2) + idat + end)
    add("png_iend_before_idat", "png_chunks", hd + end + idat)
    # -- APNG -----------------------------------------------------------------------------------
    actl = chunk(b"acTL", struct.pack(">II", 2, 0))
    def fctl(seq, fw=w, fh=h):
        return chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, fw, fh, 0, 0, 1, 10, 0, 0))
    def fdat(seq, payload):
        return chunk(b"fdAT", struct.pack(">I", seq) + payload)
    z2 = zlib.compress(raw_rows(w, h, 8, 2, rng))
    add("apng_valid", "png_apng", hd + actl + fctl(0) + idat + fctl(1) + fdat(2, z2) + end)
    add("apng_default_image", "png_apng", hd + actl + idat + fctl(0) + fdat(1, z2) + end, "IDAT is not a frame")
    add("apng_actl_no_fctl", "png_apng", hd + actl + idat + end)
    add("apng_fdat_no_fctl", "png_apng", hd + actl + idat + fdat(0, z2) + end)
    add("apng_fdat_before_idat", "png_apng", hd + actl + fdat(0, z2) + idat + end)
    add("apng_bad_sequence", "png_apng", hd + actl + fctl(0) + idat + fctl(5) + fdat(6, z2) + end)
    add("apng_fctl_no_actl", "png_apng", hd + fctl(0) + idat + end)
    add("apng_fctl_bad_first_seq", "png_apng", hd + actl + fctl(3) + idat + end)
    add("apng_truncated_actl", "png_apng", hd + chunk(b"acTL", b"\0\0\0\2") + idat + end)
    add("apng_fctl_outside", "png_apng", hd + actl + fctl(0, w + 1, h) + idat + end)
    small = raw_rows(w - 3, h - 2, 8, 2, rng)
    fc = chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, w - 3, h - 2, 2, 1, 1, 10, 0, 0))
    add("apng_small_first_frame", "png_apng", hd + actl + fc + chunk(b"IDAT", zlib.compress(small)) + end,
        "the IDAT fills the first frame's rectangle")
    # -- text chunks: Pillow's MAX_TEXT_CHUNK (1 MiB) and MAX_TEXT_MEMORY (64 MiB) ---------------
    big = zlib.compress(b"A" * (1024 * 1024 + 1), 9)
    add("png_ztxt_too_big", "png_text", hd + chunk(b"zTXt", b"Comment\0\0" + big) + idat + end)
    add("png_ztxt_too_big_after", "png_text", hd + idat + chunk(b"zTXt", b"Comment\0\0" + big) + end)
    add("png_itxt_too_big", "png_text", hd + chunk(b"iTXt", b"Comment\0\x01\0\0\0" + big) + idat + end)
    add("png_iccp_too_big", "png_text", hd + chunk(b"iCCP", b"icc\0\0" + big) + idat + end)
    okbig = zlib.compress(b"A" * (1024 * 1024 - 1), 9)
    add("png_ztxt_just_under", "png_text", hd + chunk(b"zTXt", b"Comment\0\0" + okbig) + idat + end)
    many = zlib.compress(b"B" * 1000000, 9)
    add("png_text_memory_exceeded", "png_text", hd + b"".join(chunk(b"zTXt", b"k%d\0\0" % i + many) for i in range(68)) + idat + end)
    add("png_ztxt_corrupt", "png_text", hd + chunk(b"zTXt", b"Comment\0\0" + b"\x78\x9cgarbage") + idat + end, "zlib error: ignored")
    add("png_ztxt_bad_method", "png_text", hd + chunk(b"zTXt", b"Comment\0\x05" + big[:10]) + idat + end)
    add("png_iccp_bad_method", "png_text", hd + chunk(b"iCCP", b"icc\0\x01" + big[:10]) + idat + end)
    # -- orientation ------------------------------------------------------------------------------
    tiff6 = app1_exif(6)[10:]
    for o in (3, 6, 8):
        add("png_exif_%d" % o, "png_orientation", hd + chunk(b"eXIf", app1_exif(o)[10:]) + idat + end)
    add("png_exif_after_idat", "png_orientation", hd + idat + chunk(b"eXIf", tiff6) + end)
    add("png_exif_with_prefix", "png_orientation", hd + chunk(b"eXIf", b"Exif\0\0" + tiff6) + idat + end)
    xmp = b'<x:xmpmeta><rdf:Description tiff:Orientation="8"/></x:xmpmeta>'
    add("png_xmp_itxt", "png_orientation", hd + chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp) + idat + end)
    add("png_xmp_itxt_z", "png_orientation", hd + chunk(b"iTXt", b"XML:com.adobe.xmp\0\x01\0\0\0" + zlib.compress(xmp)) + idat + end)
    add("png_xmp_text", "png_orientation", hd + chunk(b"tEXt", b"XML:com.adobe.xmp\0" + xmp) + idat + end)
    add("png_xmp_and_exif", "png_orientation", hd + chunk(b"eXIf", app1_exif(3)[10:]) +
        chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp) + idat + end, "EXIF wins")
    raw = b"Exif\0\0" + tiff6
    prof = "\nexif\n%8d\n%s\n" % (len(raw), raw.hex())
    add("png_raw_profile_exif", "png_orientation", hd + chunk(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(prof.encode())) + idat + end,
        "ImageMagick's text chunk")
    # -- real encoders ----------------------------------------------------------------------------
    src = ppm(photo(29, 19, 81))
    for nm, args in [("im_rgb", []), ("im_gray", ["-colorspace", "Gray"]), ("im_palette", ["-colors", "16", "-type", "Palette"]),
                     ("im_rgb16", ["-depth", "16"]), ("im_gray16", ["-colorspace", "Gray", "-depth", "16"]),
                     ("im_interlaced", ["-interlace", "PNG"]), ("im_rgba", ["-alpha", "set", "-channel", "A", "-evaluate", "set", "60%"])]:
        add("png_%s" % nm, "png_encoders", run([CONVERT, src] + args + ["-define", "png:exclude-chunk=date,time", "png:-"]))
    im = Image.fromarray(photo(21, 13, 82))
    for nm, mode in [("pil_p", "P"), ("pil_la", "LA"), ("pil_1", "1"), ("pil_i16", "I;16")]:
        buf = io.BytesIO()
        (im.convert("L").convert(mode) if mode in ("LA", "1", "I;16") else im.convert(mode)).save(buf, "PNG")
        add("png_%s" % nm, "png_encoders", buf.getvalue())


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    OUT = args.out
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith((".jpg", ".png", ".json")):
            os.remove(os.path.join(OUT, f))
    random.seed(7)
    gen_jpeg()
    gen_png()
    manifest = {
        "generator": "scripts/gen_jpeg_png_corpus.py",
        "pillow": Image.__version__ if hasattr(Image, "__version__") else "",
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "files": entries,
    }
    import PIL
    manifest["pillow"] = PIL.__version__
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        # One line per file: small, and diffs stay readable when the corpus is regenerated.
        head = {k: v for k, v in manifest.items() if k != "files"}
        f.write(json.dumps(head)[:-1] + ', "files": [\n')
        f.write(",\n".join(json.dumps(e, separators=(",", ":")) for e in entries))
        f.write("\n]}\n")
    total = sum(os.path.getsize(os.path.join(OUT, e["file"])) for e in entries)
    by = {}
    for e in entries:
        c = by.setdefault(e["class"], [0, 0])
        c[0 if e["ok"] else 1] += 1
    for k, (ok, bad) in by.items():
        print("%-22s %3d decodable, %3d refused by Pillow" % (k, ok, bad))
    print("%d files, %d bytes" % (len(entries), total))
    shutil.rmtree(TMP)


if __name__ == "__main__":
    main()
