#!/usr/bin/python3
"""make-font.py: turn FandolFang-Regular.otf (CFF) into the TrueType font ipforms embeds.

    /usr/bin/python3 tools/make-font.py                   # writes fonts/FandolFang-Regular.ttf
    /usr/bin/python3 tools/make-font.py --compare fonts/FandolFang-Regular.ttf
                                # is the committed file what this script makes? (0 / 1 / 77)
    /usr/bin/python3 tools/make-font.py --check-text a.txt b.txt   # which characters are missing?

Why a conversion at all: libharu 2.3.0 (Debian 12) can only load TrueType
outlines (a `glyf` table), and Fandol ships CFF-flavoured OpenType.

Why not a plain conversion: libharu re-reads the font for every PDF and copies
several whole tables into each one, so the font's layout is a per-document
cost.  Each choice below is there to cut that cost (numbers: docs/fonts.md):

  * cmap format 4 with the gaps between covered code points mapped to glyph 0.
    libharu maps all 65,536 BMP code points through a linear scan of the
    format-4 segments for every document; Fandol's 4,372 segments cost ~40 ms,
    25 cost under 1 ms.  Glyph 0 therefore means "not covered":
    ipforms decides coverage itself (src/fontset.c), never libharu.
  * No format 12 subtable: Fandol covers nothing above U+FFFF, libharu reads
    only format 4, and the whole cmap is copied into every PDF.
  * post format 3 (no glyph names): the names are ~110 KB that libharu 2.3.0
    copies into every PDF.
  * Glyphs no code point reaches are dropped (Fandol has no GSUB, so nothing
    else could select them); glyphs with identical outlines are shared.  Both shrink
    the glyph count, and libharu copies loca and hmtx (per glyph) into every PDF.
  * units per em 400 instead of 1000, and quadratic approximation error 1 unit
    (1/400 em): coordinate deltas get shorter, which shrinks each embedded
    glyph after deflate (1000 -> 500: ~15 %; 500 -> 400: another ~4 %, the
    national sample's PDF 297 -> 284 KB).  Outlines move by at most
    1/400 em (approximation) plus 1/800 em (rounding): 0.018 mm at 14 pt,
    below half a dot at 600 dpi.
  * An on-curve point between two off-curve points is left out when it lies
    within half a unit, in x and in y, of their midpoint, where TrueType
    implies an on-curve point anyway (IMPLIED_LIMIT).  The outline moves at
    that join by no more than rounding to the grid moves a point; 5.6 % fewer
    points, 5.8 KB less in the national sample's PDF (docs/fonts.md).
  * Glyphs sorted by advance and left side bearing: libharu 2.3.0 copies the
    whole hmtx into every PDF, and sorted it deflates from 11 KB to 1 KB.
  * No hinting tables (the CFF hints do not carry over; PDF viewers render
    unhinted TrueType well at these sizes) and no vertical or OpenType layout
    tables (BASE, GPOS, VORG, vhea, vmtx): libharu ignores them.

The output is byte-for-byte reproducible: the timestamps are the source
font's, and nothing depends on the clock, the locale or dictionary order.  The
fontTools version is written into the font's version string, because another
fontTools may round differently; --compare skips (exit 77) rather than fails
when the versions differ.
"""

import argparse
import array
import hashlib
import os
import struct
import sys
import tempfile
import time

try:
    import fontTools
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.transformPen import TransformPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable
    from fontTools.ttLib.tables.DefaultTable import DefaultTable
    from fontTools.ttLib.tables._g_l_y_f import GlyphCoordinates
except ImportError:
    sys.stderr.write(
        "make-font.py: 找不到 fontTools。Debian/Ubuntu: apt-get install python3-fonttools，"
        "并用 /usr/bin/python3 运行（其他 Python 可能没有装 fontTools）。\n")
    sys.exit(77 if "--compare" in sys.argv else 2)

SOURCE = "/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/FandolFang-Regular.otf"
# FandolFang v0.3 (2015-07-18) as shipped in TeX Live 2022 (Debian 12
# texlive-lang-chinese 2022.20230122-1).  Another file makes another font.
SOURCE_SHA256 = "d838ad32ce2244d8144f408c37fe71065aba6fbbc80759a4d2aa2033948d5bc9"

UNITS_PER_EM = 400
MAX_ERR = 1.0  # in output units: 1/400 em
# An on-curve point this close (in output units, per axis) to the midpoint of
# its two off-curve neighbours is dropped: the implied point takes its place.
IMPLIED_LIMIT = 0.5
# Runs of covered code points at most this many code points apart share one
# format-4 segment (the gap maps to glyph 0).  Larger gaps end the segment.
# 64 gives 25 segments; a larger gap saves neither bytes nor measurable time.
CMAP_GAP = 64
VERSION_NOTE = "TrueType by ipforms tools/make-font.py (fontTools {})"


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def convert_outline(glyph_set, name, scale):
    """One CFF glyph to a TrueType glyph: scaled, cubic to quadratic, clockwise."""
    tt_pen = TTGlyphPen(None)
    # The cubic curves are scaled first so that MAX_ERR is in output units.
    # reverse_direction: CFF outer contours run counter-clockwise, TrueType
    # ones clockwise; some rasterisers use the direction for dropout control.
    pen = TransformPen(Cu2QuPen(tt_pen, MAX_ERR, reverse_direction=True),
                       (scale, 0, 0, scale, 0, 0))
    glyph_set[name].draw(pen)
    glyph = tt_pen.glyph()
    drop_implied_on_curves(glyph, IMPLIED_LIMIT)
    glyph.recalcBounds(None)
    return glyph


def drop_implied_on_curves(glyph, limit):
    """Leaves out on-curve points that TrueType's implied midpoint can stand for.

    cu2qu ends every converted cubic with an explicit on-curve point, even
    where the join is smooth and the point sits (after rounding) at the
    midpoint of the off-curve points around it.  Between two quadratic
    segments, moving the join by d moves no point of the curve by more than
    d, so a point within `limit` per axis of the midpoint can go.  A
    contour's first point stays, so that every contour still starts on the
    curve as the rasterisers of old printers expect."""
    if glyph.numberOfContours <= 0:
        return
    coords, flags = glyph.coordinates, glyph.flags
    kept_coords, kept_flags, ends = [], array.array("B"), []
    start = 0
    for end in glyph.endPtsOfContours:
        n = end - start + 1
        for i in range(n):
            j = start + i
            before, after = start + (i - 1) % n, start + (i + 1) % n
            if i > 0 and flags[j] & 1 and not flags[before] & 1 and not flags[after] & 1:
                mid_x = (coords[before][0] + coords[after][0]) / 2
                mid_y = (coords[before][1] + coords[after][1]) / 2
                if abs(coords[j][0] - mid_x) <= limit and abs(coords[j][1] - mid_y) <= limit:
                    continue
            kept_coords.append(coords[j])
            kept_flags.append(flags[j])
        ends.append(len(kept_coords) - 1)
        start = end + 1
    glyph.coordinates = GlyphCoordinates(kept_coords)
    glyph.flags = kept_flags
    glyph.endPtsOfContours = ends


def outline_key(glyph):
    """Identity of an outline, to share identical glyphs."""
    if glyph.numberOfContours == 0:
        return ()
    return (tuple(glyph.endPtsOfContours), bytes(glyph.flags),
            tuple(tuple(p) for p in glyph.coordinates))


def build_cmap(cp_to_gid, gap):
    """A cmap table with one (3,1) format-4 subtable.

    Segments come from runs of covered code points, merged while the gap
    between runs is at most `gap`.  A run whose glyphs are consecutive is
    written with idDelta; a merged segment goes through glyphIdArray with
    idDelta 0, which libharu 2.3.0 needs: it adds idDelta even to a 0 entry,
    unlike the specification and FreeType.  Returns (bytes, segment count)."""
    cps = sorted(cp for cp in cp_to_gid if cp < 0xFFFF)
    ranges = []
    for cp in cps:
        if ranges and cp - ranges[-1][1] - 1 <= gap:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])

    n = len(ranges) + 1  # + the obligatory 0xFFFF segment
    ends, starts, deltas, offsets, glyph_ids = [], [], [], [], []
    for i, (first, last) in enumerate(ranges):
        starts.append(first)
        ends.append(last)
        consecutive = all(cp_to_gid.get(cp, 0) == cp_to_gid[first] + (cp - first)
                          for cp in range(first, last + 1))
        if consecutive:
            deltas.append((cp_to_gid[first] - first) & 0xFFFF)
            offsets.append(0)
        else:
            deltas.append(0)
            # idRangeOffset counts bytes from its own slot to the array entry.
            offsets.append(2 * (n - i + len(glyph_ids)))
            glyph_ids.extend(cp_to_gid.get(cp, 0) for cp in range(first, last + 1))
    starts.append(0xFFFF)
    ends.append(0xFFFF)
    deltas.append(1)
    offsets.append(0)

    entry_selector = n.bit_length() - 1
    search_range = 2 * (1 << entry_selector)
    length = 16 + 8 * n + 2 * len(glyph_ids)
    if length > 0xFFFF:
        raise SystemExit("make-font.py: cmap format 4 子表超过 65535 字节（%d），请减小 CMAP_GAP"
                         % length)
    sub = struct.pack(">7H", 4, length, 0, 2 * n, search_range, entry_selector,
                      2 * n - search_range)
    sub += struct.pack(">%dH" % n, *ends) + b"\0\0"
    sub += struct.pack(">%dH" % n, *starts)
    sub += struct.pack(">%dH" % n, *deltas)
    sub += struct.pack(">%dH" % n, *offsets)
    sub += struct.pack(">%dH" % len(glyph_ids), *glyph_ids)
    header = struct.pack(">HH", 0, 1) + struct.pack(">HHI", 3, 1, 12)
    return header + sub, n


def set_version_strings(name_table, note):
    """Marks the font as modified (GPL 3 §5a) in the version and unique-ID names."""
    for record in name_table.names:
        if record.nameID in (3, 5):
            record.string = "%s; %s" % (record.toUnicode(), note)


def make_font(source):
    src = TTFont(source, lazy=False)
    if "CFF " not in src:
        raise SystemExit("make-font.py: %s 不是 CFF 字体（没有 CFF 表）" % source)
    scale = UNITS_PER_EM / src["head"].unitsPerEm
    # Only the BMP: libharu 2.3.0 reads format 4 and drops everything above.
    best = src.getBestCmap() or {}
    src_cmap = {cp: name for cp, name in best.items() if cp < 0xFFFF}
    if not src_cmap:
        raise SystemExit("make-font.py: %s 没有 Unicode 字符映射（cmap）" % source)
    glyph_set = src.getGlyphSet()
    src_hmtx = src["hmtx"]

    outlines = {".notdef": convert_outline(glyph_set, ".notdef", scale)}
    advance = {name: round(src_hmtx[name][0] * scale) for name in src.getGlyphOrder()}
    first_cp = {}
    by_outline = {}
    src_to_new = {}
    shared = 0
    for cp in sorted(src_cmap):
        name = src_cmap[cp]
        if name in src_to_new:
            continue
        glyph = convert_outline(glyph_set, name, scale)
        key = (advance[name], outline_key(glyph))
        if key in by_outline:
            src_to_new[name] = by_outline[key]
            shared += 1
            continue
        by_outline[key] = name
        src_to_new[name] = name
        outlines[name] = glyph
        first_cp[name] = cp

    # Glyph order: libharu 2.3.0 copies the whole hmtx into every PDF, and
    # its left side bearings are the least compressible part.  Sorted by
    # (advance, lsb) they form long runs; the common advance goes last so
    # that hmtx stores it only once (numberOfHMetrics).  The cmap and the
    # CIDToGIDMap deflate ~4 KB worse than in Unicode order; the net saving
    # is ~6 KB per PDF (docs/fonts.md).
    def lsb(name):
        g = outlines[name]
        return g.xMin if g.numberOfContours else 0

    common = max(set(advance[n] for n in first_cp),
                 key=lambda a: (sum(1 for n in first_cp if advance[n] == a), a))
    order = [".notdef"] + sorted(first_cp, key=lambda n: (advance[n] == common, advance[n],
                                                          lsb(n), first_cp[n]))
    gid = {name: i for i, name in enumerate(order)}
    cp_to_gid = {cp: gid[src_to_new[name]] for cp, name in src_cmap.items()}

    font = TTFont(recalcBBoxes=True, recalcTimestamp=False)
    font.setGlyphOrder(order)

    head = font["head"] = src["head"]
    head.unitsPerEm = UNITS_PER_EM
    head.glyphDataFormat = 0
    # created/modified stay the source's (fixed) values: reproducible output.

    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = outlines
    font["loca"] = newTable("loca")

    hmtx = font["hmtx"] = newTable("hmtx")
    hmtx.metrics = {}
    for name in order:
        hmtx.metrics[name] = (advance[name], lsb(name))

    hhea = font["hhea"] = src["hhea"]
    for attr in ("ascent", "descent", "lineGap"):
        setattr(hhea, attr, round(getattr(hhea, attr) * scale))

    os2 = font["OS/2"] = src["OS/2"]
    for attr in ("xAvgCharWidth", "ySubscriptXSize", "ySubscriptYSize", "ySubscriptXOffset",
                 "ySubscriptYOffset", "ySuperscriptXSize", "ySuperscriptYSize",
                 "ySuperscriptXOffset", "ySuperscriptYOffset", "yStrikeoutSize",
                 "yStrikeoutPosition", "sTypoAscender", "sTypoDescender", "sTypoLineGap",
                 "usWinAscent", "usWinDescent", "sxHeight", "sCapHeight"):
        if hasattr(os2, attr):
            setattr(os2, attr, round(getattr(os2, attr) * scale))

    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("numGlyphs", "maxPoints", "maxContours", "maxCompositePoints",
                 "maxCompositeContours", "maxTwilightPoints", "maxStorage",
                 "maxFunctionDefs", "maxInstructionDefs", "maxStackElements",
                 "maxSizeOfInstructions", "maxComponentElements", "maxComponentDepth"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1  # recalculated on save, except the hinting fields

    post = font["post"] = newTable("post")
    post.formatType = 3.0
    src_post = src["post"]
    post.italicAngle = src_post.italicAngle
    post.underlinePosition = round(src_post.underlinePosition * scale)
    post.underlineThickness = round(src_post.underlineThickness * scale)
    post.isFixedPitch = src_post.isFixedPitch
    post.minMemType42 = post.maxMemType42 = post.minMemType1 = post.maxMemType1 = 0

    name_table = font["name"] = src["name"]
    set_version_strings(name_table, VERSION_NOTE.format(fontTools.version))

    cmap = font["cmap"] = DefaultTable("cmap")
    cmap.data, segments = build_cmap(cp_to_gid, CMAP_GAP)

    runs = 1 + sum(1 for cp in src_cmap if cp - 1 not in src_cmap)
    points = sum(len(outlines[n].coordinates) for n in order if outlines[n].numberOfContours)
    stats = {
        "source_glyphs": len(src.getGlyphOrder()),
        "glyphs": len(order),
        "unreached": len(src.getGlyphOrder()) - 1 - len(set(src_cmap.values())),
        "shared": shared,
        "codepoints": len(src_cmap),
        "runs": runs,
        "segments": segments,
        "points": points,
    }
    return font, cp_to_gid, stats


def save(font, path):
    """Writes via a temporary file in the same directory, so the path never holds half a font."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".make-font-", suffix=".ttf", dir=directory)
    os.close(fd)
    try:
        # mkstemp makes the file private (0600); a font is for everyone to read.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        font.save(tmp, reorderTables=True)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def check_text(paths, cp_to_gid):
    """Prints the characters of the given UTF-8 files that the font cannot draw."""
    missing = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for ch in f.read():
                cp = ord(ch)
                if cp >= 0x20 and cp_to_gid.get(cp, 0) == 0:
                    missing.setdefault(cp, path)
    for cp in sorted(missing):
        print("  缺字 U+%04X %s（首见于 %s）" % (cp, chr(cp), missing[cp]))
    print("  %d 个字符缺字形" % len(missing))
    return len(missing)


def version_note_of(path):
    font = TTFont(path, lazy=True)
    version = font["name"].getDebugName(5) or ""
    return version


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", default=SOURCE, help="FandolFang-Regular.otf (default: %(default)s)")
    ap.add_argument("--output", help="default: fonts/FandolFang-Regular.ttf, or a temporary "
                    "file with --compare")
    ap.add_argument("--compare", metavar="TTF",
                    help="exit 1 if the output differs from TTF byte for byte, 77 if it cannot tell")
    ap.add_argument("--check-text", nargs="+", metavar="TXT", default=[],
                    help="list characters of these UTF-8 files that the font lacks")
    args = ap.parse_args()

    if not os.path.exists(args.input):
        print("make-font.py: 找不到源字体 %s（Debian: apt-get install texlive-lang-chinese）"
              % args.input, file=sys.stderr)
        return 77 if args.compare else 2
    digest = sha256_of(args.input)
    print("source  %s" % args.input)
    print("        sha256 %s" % digest)
    if digest != SOURCE_SHA256:
        print("        (not the FandolFang v0.3 this script was written for: %s)" % SOURCE_SHA256)
        if args.compare:
            print("make-font.py: 源字体不同，无法比较，跳过")
            return 77

    scratch = None  # kept alive until exit: it holds the --compare output
    if args.compare and args.output is None:
        scratch = tempfile.TemporaryDirectory(prefix="make-font-")
        args.output = os.path.join(scratch.name, "FandolFang-Regular.ttf")
    elif args.output is None:
        if os.path.abspath(args.input) != SOURCE:
            print("make-font.py: 转换其他字体时请用 --output 指定输出文件"
                  "（默认输出是 fonts/FandolFang-Regular.ttf）", file=sys.stderr)
            return 2
        args.output = os.path.join(here, "..", "fonts", "FandolFang-Regular.ttf")

    started = time.monotonic()
    font, cp_to_gid, st = make_font(args.input)
    save(font, args.output)
    elapsed = time.monotonic() - started

    print("fontTools %s, %.1f s" % (fontTools.version, elapsed))
    print("glyphs  %d in the source, %d written: %d reached by no code point dropped, "
          "%d identical outlines shared" % (st["source_glyphs"], st["glyphs"], st["unreached"],
                                           st["shared"]))
    print("        units per em %d, quadratic error <= %g unit, %.1f points per glyph"
          % (UNITS_PER_EM, MAX_ERR, st["points"] / max(1, st["glyphs"] - 1)))
    print("cmap    %d code points, %d runs -> %d format-4 segments (gaps <= %d map to glyph 0)"
          % (st["codepoints"], st["runs"], st["segments"], CMAP_GAP))
    dropped = [t for t in TTFont(args.input).keys()
               if t not in ("GlyphOrder", "CFF ", "CFF2") and t not in font]
    print("tables  CFF -> glyf, post 3.0 (no glyph names), dropped: %s"
          % (", ".join(sorted(dropped)) or "none"))
    print("output  %s" % os.path.normpath(args.output))
    print("        %d bytes, sha256 %s" % (os.path.getsize(args.output), sha256_of(args.output)))

    status = 0
    if args.check_text:
        status = 1 if check_text(args.check_text, cp_to_gid) else 0

    if args.compare:
        if not os.path.exists(args.compare):
            print("make-font.py: %s 不存在" % args.compare, file=sys.stderr)
            return 1
        with open(args.compare, "rb") as a, open(args.output, "rb") as b:
            old, new = a.read(), b.read()
        if old == new:
            print("compare %s: identical" % args.compare)
            return status
        theirs = version_note_of(args.compare)
        ours = VERSION_NOTE.format(fontTools.version)
        if ours not in theirs:
            print("compare %s: differs, but it was made by another fontTools (%s); skipped"
                  % (args.compare, theirs))
            return 77
        at = next((i for i, (x, y) in enumerate(zip(old, new)) if x != y), min(len(old), len(new)))
        print("make-font.py: %s 与脚本输出不一致（%d 与 %d 字节，第 %d 字节起不同）。"
              "请运行 /usr/bin/python3 tools/make-font.py 重新生成并提交。"
              % (args.compare, len(old), len(new), at), file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
