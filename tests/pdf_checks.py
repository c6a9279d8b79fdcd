#!/usr/bin/python3
"""The structure of the PDFs ipforms writes, read back with qpdf: what an
archive's PDF/A validator (veraPDF, Acrobat Preflight) looks at first.

Usage: pdf_checks.py pdfa IPFORMS REPO_ROOT SAMPLE [LATIN_FONT]
       pdf_checks.py preflight IPFORMS REPO_ROOT
       pdf_checks.py readers IPFORMS REPO_ROOT
       pdf_checks.py size IPFORMS REPO_ROOT
Renders SAMPLE with and without --pdfa (and with --pdfa --no-date), then
checks every PDF/A-1b part the writer is responsible for, and that a plain
PDF has the same XMP metadata but no pdfaid and no output intent.  With LATIN_FONT (a TrueType font with composite
glyphs, e.g. DejaVuSans.ttf) it also renders a copy of SAMPLE holding
accented letters set in that font, whose subset then carries composite
glyphs' components, which the CIDSet must list too.
Prints what it checked; exits 1 on the first failure, 77 when qpdf or
poppler-utils are missing.

preflight renders every form `ipforms forms` lists, each sample in
samples/FORM/ and the blank form, with --pdfa, and has Apache PDFBox's
Preflight (Debian's libpdfbox2-java) validate them all as PDF/A-1b.

readers renders the same PDFs (plain) and reads each back with four readers
written elsewhere -- poppler's pdftotext, MuPDF's mutool, pdfminer and pdf.js
(tests/pdfjs_text.js) -- and compares what each extracts, page by page, with
the text the content stream shows (decoded here through each font's
ToUnicode map): the same characters, no word break inside a drawn run, check
boxes with what they tick, labels spanning rows before their rows, and the
stream's order for the readers that follow it; and, per PDF, page labels
equal to the printed numbers, page furniture marked as artifacts, the
metadata.

size renders the same PDFs, plain and with --pdfa, and holds each to the
size budget: at most 280,000 bytes (280 KB in the stricter, decimal
reading), what an office can mail or upload as one filing.  The budget is
what the font work of docs/pdf-output.md bought; a change that costs bytes
fails here instead of going unnoticed."""
import base64
import datetime
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unicodedata
import xml.etree.ElementTree as ET

from ipftest import fail, squash

SRGB = "/usr/share/color/icc/sRGB.icc"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, **kw)


class Pdf:
    """A PDF as qpdf's JSON (version 2) shows it: objects with their raw
    dictionaries, and every stream's data decoded."""

    def __init__(self, path):
        self.path = path
        self.bytes = open(path, "rb").read()
        raw = self._json("none", "none")
        dec = self._json("inline", "generalized")
        self.raw = raw["qpdf"][1]
        self.obj = dec["qpdf"][1]
        self.version = dec["qpdf"][0]["pdfversion"]
        self.trailer = self.obj["trailer"]["value"]

    def _json(self, data, level):
        r = run(["qpdf", "--json=2", "--json-key=qpdf", f"--json-stream-data={data}",
                 f"--decode-level={level}", self.path])
        if r.returncode != 0:
            fail(f"qpdf --json {self.path}: {r.stderr.decode()}")
        return json.loads(r.stdout)

    def get(self, v):
        """v itself, or the object it refers to (its value or its stream)."""
        if isinstance(v, str) and re.fullmatch(r"\d+ \d+ R", v):
            o = self.obj.get("obj:" + v)
            if o is None:
                fail(f"dangling reference {v}")
            return o["stream"] if "stream" in o else o["value"]
        return v

    def raw_dict(self, ref):
        o = self.raw["obj:" + ref]
        return o["stream"]["dict"] if "stream" in o else o["value"]

    def data(self, ref):
        s = self.get(ref)
        if not isinstance(s, dict) or "data" not in s:
            fail(f"{ref} is not a stream")
        return base64.b64decode(s["data"])

    def dicts(self):
        """Every dictionary anywhere in the file (stream dictionaries too)."""
        out = []

        def walk(v):
            if isinstance(v, dict):
                out.append(v)
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)

        for k, o in self.raw.items():
            walk(o["stream"]["dict"] if "stream" in o else o.get("value"))
        return out

    def catalog(self):
        return self.get(self.trailer["/Root"])

    def info(self):
        info = self.get(self.trailer.get("/Info"))
        return {k[1:]: text(v) for k, v in (info or {}).items()}

    def pages(self):
        def kids(node):
            node = self.get(node)
            if node.get("/Type") == "/Page":
                yield node
            else:
                for k in node["/Kids"]:
                    yield from kids(k)

        return list(kids(self.catalog()["/Pages"]))


def text(v):
    if isinstance(v, str) and v.startswith("u:"):
        return v[2:]
    if isinstance(v, str) and v.startswith("b:"):
        b = bytes.fromhex(v[2:])
        return b[2:].decode("utf-16-be") if b[:2] == b"\xfe\xff" else b.decode("latin-1")
    return v


def check_qpdf(path):
    r = run(["qpdf", "--check", path])
    out, err = r.stdout.decode(), r.stderr.decode()
    if r.returncode != 0 or "No syntax or stream encoding errors" not in out or err.strip():
        fail(f"qpdf --check {path}: exit {r.returncode}\n{out}{err}")


def check_poppler(path):
    r = run(["pdftotext", "-enc", "UTF-8", path, "-"])
    if r.returncode != 0 or r.stderr.strip():
        fail(f"pdftotext {path}: {r.stderr.decode().strip()[:300]}")
    rows = run(["pdffonts", path]).stdout.decode().strip().split("\n")[2:]
    if not rows:
        fail("pdffonts lists no font")
    for row in rows:
        if row.split()[-5:-2] != ["yes", "yes", "yes"]:
            fail(f"pdffonts: not emb/sub/uni: {row}")
    return r.stdout.decode()


# ------------------------------------------------------------ fonts


def sfnt_tables(font):
    n = struct.unpack(">H", font[4:6])[0]
    t = {}
    for i in range(n):
        tag, _, off, ln = struct.unpack(">4sIII", font[12 + 16 * i:28 + 16 * i])
        t[tag.decode("latin-1")] = font[off:off + ln]
    return t


def font_metrics(font):
    t = sfnt_tables(font)
    upem = struct.unpack(">H", t["head"][18:20])[0]
    nglyphs = struct.unpack(">H", t["maxp"][4:6])[0]
    nhm = struct.unpack(">H", t["hhea"][34:36])[0]
    adv = [struct.unpack(">H", t["hmtx"][4 * i:4 * i + 2])[0] for i in range(nhm)]
    return upem, nglyphs, lambda g: adv[min(g, nhm - 1)] * 1000.0 / upem


def widths(pdf, cidfont):
    """CID -> width from DW and W."""
    dw = cidfont.get("/DW", 1000)
    w = {}
    arr = pdf.get(cidfont.get("/W", []))
    i = 0
    while i < len(arr):
        first = arr[i]
        nxt = pdf.get(arr[i + 1])
        if isinstance(nxt, list):
            for k, x in enumerate(nxt):
                w[first + k] = x
            i += 2
        else:
            for c in range(first, nxt + 1):
                w[c] = arr[i + 2]
            i += 3
    return dw, w


def used_cids(pdf):
    """Font object reference -> set of CIDs shown on any page."""
    used = {}
    tok = re.compile(rb"/(\S+)\s+[-\d.]+\s+Tf|<([0-9A-Fa-f]*)>\s*Tj")
    for page in pdf.pages():
        res = pdf.get(page.get("/Resources", {}))
        fonts = pdf.get(res.get("/Font", {}))
        contents = page["/Contents"]
        contents = contents if isinstance(contents, list) else [contents]
        cur = None
        for c in contents:
            for m in tok.finditer(pdf.data(c)):
                if m.group(1):
                    cur = fonts["/" + m.group(1).decode()]
                else:
                    h = m.group(2).decode()
                    if cur is None or len(h) % 4:
                        fail(f"text without a font or odd CID string <{h}>")
                    used.setdefault(cur, set()).update(
                        int(h[k:k + 4], 16) for k in range(0, len(h), 4))
    return used


def check_fonts(pdf, expect_composites=False):
    """Every font embedded as a tagged subset; Type0 fonts are CIDFontType2
    with CIDToGIDMap /Identity, widths that agree with the embedded program
    and a CIDSet listing exactly the program's glyphs."""
    used = used_cids(pdf)
    composites = False
    nfonts = 0
    for key, o in pdf.obj.items():
        v = o.get("value")
        if not (isinstance(v, dict) and v.get("/Type") == "/Font"):
            continue
        if v.get("/Subtype") == "/CIDFontType2":
            continue  # checked through its Type0 parent
        nfonts += 1
        ref = key[4:]
        if v.get("/Subtype") != "/Type0" or v.get("/Encoding") != "/Identity-H":
            fail(f"font {ref} is {v.get('/Subtype')} {v.get('/Encoding')}, not Type0 Identity-H")
        cid = pdf.get(v["/DescendantFonts"][0])
        name = cid["/BaseFont"]
        if not re.fullmatch(r"/[A-Z]{6}\+\S+", name) or v["/BaseFont"] != name:
            fail(f"font {ref}: BaseFont {name} is not a tagged subset name")
        if cid.get("/Subtype") != "/CIDFontType2" or cid.get("/CIDToGIDMap") != "/Identity":
            fail(f"font {name}: not CIDFontType2 with CIDToGIDMap /Identity")
        desc = pdf.get(cid["/FontDescriptor"])
        if "/FontFile2" not in desc:
            fail(f"font {name} is not embedded (no FontFile2)")
        if "/ToUnicode" not in v:
            fail(f"font {name} has no ToUnicode")
        prog = pdf.data(desc["/FontFile2"])
        upem, nglyphs, adv = font_metrics(prog)
        if "/CIDSet" not in desc:
            fail(f"font {name}: subset without CIDSet (PDF/A-1 6.3.5)")
        cs = pdf.data(desc["/CIDSet"])
        bits = [i for i in range(8 * len(cs)) if cs[i >> 3] & (0x80 >> (i & 7))]
        if bits != list(range(nglyphs)):
            fail(f"font {name}: CIDSet lists {len(bits)} CIDs "
                 f"(first gap at {next((i for i, b in enumerate(bits) if i != b), '-')}), "
                 f"the program has {nglyphs} glyphs")
        dw, w = widths(pdf, cid)
        cids = used.get(ref, set())
        if not cids:
            fail(f"font {name} is not used on any page")
        if max(cids) >= nglyphs:
            fail(f"font {name}: CID {max(cids)} beyond the program's {nglyphs} glyphs")
        if nglyphs > max(cids) + 1:
            composites = True  # components after the used glyphs
        for c in sorted(cids):
            pw = w.get(c, dw)
            if abs(pw - adv(c)) > 1:
                fail(f"font {name}: CID {c} width {pw} in the PDF, {adv(c):.1f} in the program")
        print(f"  font {name}: {len(cids)} CIDs used, {nglyphs} glyphs, CIDSet and widths agree")
    if nfonts == 0:
        fail("no fonts")
    if expect_composites and not composites:
        fail("expected a subset with composite glyphs' components")


# ------------------------------------------------------------ PDF/A


def pdf_date(s):
    m = re.fullmatch(r"D:(\d{14})(Z|[+-]\d\d'\d\d'?)?", s or "")
    if not m:
        fail(f"Info date {s!r} is not D:YYYYMMDDHHmmSS+HH'mm'")
    t = datetime.datetime.strptime(m.group(1), "%Y%m%d%H%M%S")
    tz = m.group(2) or "Z"
    if tz == "Z":
        return t.replace(tzinfo=datetime.timezone.utc)
    sign = -1 if tz[0] == "-" else 1
    off = datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    return t.replace(tzinfo=datetime.timezone(sign * off))


def xmp_date(s):
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", s or ""):
        fail(f"XMP date {s!r} is not YYYY-MM-DDThh:mm:ss with a time zone")
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def xmp_values(xml):
    """The XMP properties PDF/A-1 pairs with the Info dictionary."""
    root = ET.fromstring(xml)
    v = {}

    def one(path):
        els = root.findall(".//" + path, NS)
        if len(els) > 1:
            fail(f"XMP has {path} {len(els)} times")
        return els[0] if els else None

    for key, path in [("part", "pdfaid:part"), ("conformance", "pdfaid:conformance"),
                      ("Creator", "xmp:CreatorTool"), ("CreationDate", "xmp:CreateDate"),
                      ("ModDate", "xmp:ModifyDate"), ("Producer", "pdf:Producer"),
                      ("Keywords", "pdf:Keywords")]:
        e = one(path)
        if e is not None:
            v[key] = e.text or ""
    for key, path in [("Title", "dc:title/rdf:Alt/rdf:li"),
                      ("Subject", "dc:description/rdf:Alt/rdf:li")]:
        e = one(path)
        if e is not None:
            if e.get(XML_LANG) != "x-default":
                fail(f"XMP {path} is not the x-default alternative")
            v[key] = e.text or ""
    e = root.findall(".//dc:creator/rdf:Seq/rdf:li", NS)
    if len(e) > 1:
        fail("XMP dc:creator has several entries; Info /Author is one")
    if e:
        v["Author"] = e[0].text or ""
    return v


def check_metadata(pdf, dated, pdfa):
    """The XMP metadata stream every PDF has, agreeing with Info; /Lang."""
    cat = pdf.catalog()
    mref = cat.get("/Metadata")
    if mref is None:
        fail("no /Metadata in the catalog")
    md = pdf.raw_dict(mref)
    if md.get("/Type") != "/Metadata" or md.get("/Subtype") != "/XML":
        fail(f"metadata stream dictionary {md}")
    if "/Filter" in md:
        fail("metadata stream is compressed (PDF/A-1 wants it readable as is)")
    xml = pdf.data(mref)
    if not re.match(rb'<\?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"\?>', xml):
        fail(f"no xpacket header: {xml[:80]!r}")
    if not xml.rstrip().endswith(b'<?xpacket end="w"?>'):
        fail("no xpacket trailer")
    x = xmp_values(xml)
    if pdfa and (x.get("part") != "1" or x.get("conformance") != "B"):
        fail(f"pdfaid part {x.get('part')} conformance {x.get('conformance')}")
    if not pdfa and ("part" in x or "conformance" in x or b"pdfaid" in pdf.bytes):
        fail("a PDF that is not PDF/A claims pdfaid")
    if text(cat.get("/Lang")) != "zh-CN":
        fail(f"catalog /Lang is {cat.get('/Lang')!r}, not zh-CN")
    langs = [e.text for e in ET.fromstring(xml).findall(".//dc:language/rdf:Bag/rdf:li", NS)]
    if langs != ["zh-CN"]:
        fail(f"XMP dc:language {langs}")
    info = pdf.info()
    for key, v in info.items():
        if not str(v).strip():
            fail(f"Info /{key} is empty: an empty value is left out")
    for key in ["Title", "Author", "Subject", "Keywords", "Creator", "Producer"]:
        if info.get(key) != x.get(key):
            fail(f"Info /{key} {info.get(key)!r} but XMP says {x.get(key)!r}")
    for key in ["CreationDate", "ModDate"]:
        if (key in info) != (key in x):
            fail(f"{key} only in {'Info' if key in info else 'XMP'}")
        if key in info and pdf_date(info[key]) != xmp_date(x[key]):
            fail(f"Info /{key} {info[key]} is not XMP's {x[key]}")
    if not info.get("Title"):
        fail("no title")
    if dated != ("CreationDate" in info and "ModDate" in info):
        fail(f"dates {'missing' if dated else 'present with --no-date'}")
    print(f"  XMP metadata{': pdfaid 1/B' if pdfa else ''}, /Lang zh-CN, agrees with Info "
          f"({', '.join(sorted(k for k in info if k in x))})")



def check_pdfa(pdf, dated):
    b = pdf.bytes
    if not (b.startswith(b"%PDF-1.4\n%") and all(c > 127 for c in b[10:14])):
        fail(f"header is {b[:16]!r}: want %PDF-1.4 then a comment of 4 bytes > 127")
    if pdf.version != "1.4":
        fail(f"PDF version {pdf.version}")
    if "/Encrypt" in pdf.trailer:
        fail("encrypted")
    ids = pdf.trailer.get("/ID")
    if not (isinstance(ids, list) and len(ids) == 2 and
            all(isinstance(x, str) and x.startswith("b:") and len(x) == 34 for x in ids)):
        fail(f"trailer /ID is {ids!r}: want two 16-byte strings")
    print("  header, version 1.4, not encrypted, trailer /ID")

    check_metadata(pdf, dated, pdfa=True)
    cat = pdf.catalog()
    intents = [pdf.get(i) for i in pdf.get(cat.get("/OutputIntents", []))]
    if len(intents) != 1:
        fail(f"{len(intents)} output intents")
    oi = intents[0]
    if oi.get("/S") != "/GTS_PDFA1" or not oi.get("/OutputConditionIdentifier"):
        fail(f"output intent {oi}")
    prof = pdf.get(oi.get("/DestOutputProfile"))
    if not isinstance(prof, dict) or prof.get("dict", {}).get("/N") != 3:
        fail("DestOutputProfile is not an ICC stream with /N 3")
    if pdf.data(oi["/DestOutputProfile"]) != open(SRGB, "rb").read():
        fail("DestOutputProfile is not the sRGB profile")
    print("  output intent GTS_PDFA1 with the sRGB profile (N 3)")

    for d in pdf.dicts():
        for k in ["/SMask", "/CA", "/ca", "/BM"]:
            if k in d and d[k] not in ("/None", 1, 1.0, "/Normal", "/Compatible"):
                fail(f"transparency: {k} {d[k]}")
        if d.get("/S") == "/Transparency":
            fail("transparency group")
        for k in ["/JS", "/JavaScript", "/EmbeddedFiles", "/AA", "/Launch"]:
            if k in d:
                fail(f"forbidden entry {k}")
    print("  no transparency, scripts, actions or embedded files")


def check_plain(pdf):
    check_metadata(pdf, dated=True, pdfa=False)
    if "/OutputIntents" in pdf.catalog():
        fail("plain PDF has /OutputIntents")
    print("  XMP metadata without pdfaid, no output intent")


def render(ipf, repo, args, sample, outdir, env=None):
    e = dict(os.environ, **(env or {}))
    r = run([ipf, "render", "-q", "-o", outdir] + args + [sample], cwd=repo, env=e)
    if r.returncode != 0:
        fail(f"ipforms render {' '.join(args)}: exit {r.returncode}: {r.stderr.decode()}")
    base = os.path.splitext(os.path.basename(sample))[0]
    return os.path.join(outdir, base + ".pdf")


def check_pdfa_command(ipf, repo, sample, latin_font=None):
    for tool in ["qpdf", "pdftotext", "pdffonts"]:
        if not shutil.which(tool):
            print(f"skip: {tool} missing")
            sys.exit(77)
    if not os.path.exists(SRGB):
        print(f"skip: {SRGB} missing (icc-profiles-free)")
        sys.exit(77)
    epoch = {"SOURCE_DATE_EPOCH": "1700000000"}
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {k: os.path.join(tmp, k) for k in ["a", "nodate", "plain", "latin"]}
        for d in dirs.values():
            os.mkdir(d)
        a = render(ipf, repo, ["--pdfa"], sample, dirs["a"], epoch)
        nd = render(ipf, repo, ["--pdfa", "--no-date"], sample, dirs["nodate"])
        plain = render(ipf, repo, [], sample, dirs["plain"], epoch)
        texts = []
        for path, what in [(a, "PDF/A"), (nd, "PDF/A --no-date"), (plain, "plain")]:
            print(f"{what}: {os.path.getsize(path)} bytes")
            check_qpdf(path)
            texts.append(check_poppler(path))
            pdf = Pdf(path)
            check_fonts(pdf)
            if what == "plain":
                check_plain(pdf)
            else:
                check_pdfa(pdf, dated=(path == a))
        if len(set(texts)) != 1:
            fail("PDF/A and plain PDF extract to different text")
        info = Pdf(a).info()
        if info.get("CreationDate") != "D:20231114221320+00'00'":
            fail(f"SOURCE_DATE_EPOCH=1700000000 gave CreationDate {info.get('CreationDate')}")
        again = render(ipf, repo, ["--pdfa"], sample, dirs["nodate"], epoch)
        if open(again, "rb").read() != open(a, "rb").read():
            fail("PDF/A with SOURCE_DATE_EPOCH is not byte-identical from run to run")
        print("same text in all three; SOURCE_DATE_EPOCH gives the same bytes twice")
        if latin_font:
            if not os.path.exists(latin_font):
                print(f"(no {latin_font}: composite glyph check left out)")
                return
            src = open(sample, encoding="utf-8").read()
            src, n = re.subn(r"(<service>)([^<]*)(</service>)",
                             r"\1\2（Café Éclair）\3", src, count=1)
            if n != 1:
                fail("sample has no <service> to add accented letters to")
            latin = os.path.join(tmp, "latin.xml")
            open(latin, "w", encoding="utf-8").write(src)
            p = render(ipf, repo, ["--pdfa", "--font", latin_font], latin, dirs["latin"], epoch)
            print(f"PDF/A with accented letters in {os.path.basename(latin_font)}:")
            check_qpdf(p)
            got = re.sub(r"\s+", "", check_poppler(p))
            if "Café" not in got or "Éclair" not in got:
                fail("accented text not extracted")
            pdf = Pdf(p)
            check_fonts(pdf, expect_composites=True)
            check_pdfa(pdf, dated=True)


# ------------------------------------------------------------ every form


def forms(ipf, repo):
    """[(form, [sample, ...])] for every form the command knows; samples are
    samples/FORM/*.xml.  Forms are discovered, not listed here, so a form
    added by files alone is checked too."""
    r = run([ipf, "forms"], cwd=repo)
    if r.returncode != 0:
        fail(f"ipforms forms: exit {r.returncode}: {r.stderr.decode()}")
    out = []
    for line in r.stdout.decode().splitlines():
        if line.strip():
            name = line.split()[0]
            out.append((name, sorted(glob.glob(os.path.join(repo, "samples", name, "*.xml")))))
    if not out:
        fail("ipforms forms lists no form")
    return out


def render_all(ipf, repo, outdir, args, env=None):
    """Renders every form's samples and blank form into outdir (one
    subdirectory per form); returns [(label, path)]."""
    e = dict(os.environ, **(env or {}))
    out = []
    for form, samples in forms(ipf, repo):
        d = os.path.join(outdir, form)
        os.makedirs(d, exist_ok=True)
        for s in samples:
            out.append((f"{form}/{os.path.basename(s)}", render(ipf, repo, args, s, d, env)))
        r = run([ipf, "blank", "-q", "-o", d] + args + [form], cwd=repo, env=e)
        path = os.path.join(d, f"blank-{form}.pdf")
        if r.returncode != 0 or not os.path.exists(path):
            fail(f"ipforms blank {form}: exit {r.returncode}: {r.stderr.decode()}")
        out.append((f"{form} (blank)", path))
    return out


# Debian's PDFBox 2 (libpdfbox2-java) and what it needs on Java 17, where
# JAXB and activation are no longer part of the JDK.
PREFLIGHT_JARS = ["preflight", "pdfbox2", "fontbox2", "xmpbox", "commons-logging", "jaxb-api",
                  "javax.activation"]


def check_preflight(ipf, repo):
    jars = [f"/usr/share/java/{j}.jar" for j in PREFLIGHT_JARS]
    missing = [j for j in jars if not os.path.exists(j)]
    if not shutil.which("java") or missing:
        print(f"skip: java or {missing} missing (tools/deps.sh --ci installs them)")
        sys.exit(77)
    if not os.path.exists(SRGB):
        print(f"skip: {SRGB} missing (icc-profiles-free)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = render_all(ipf, repo, tmp, ["--pdfa"], {"SOURCE_DATE_EPOCH": "1700000000"})
        listing = os.path.join(tmp, "list.txt")
        with open(listing, "w") as fh:
            fh.write("".join(p + "\n" for _, p in pdfs))
        # "xml group": one JVM for all files, one report listing each in order.
        r = run(["java", "-cp", ":".join(jars), "org.apache.pdfbox.preflight.Validator_A1b",
                 "xml", "group", listing], cwd=tmp)
        report = listing + ".preflight.xml"
        if r.returncode != 0 or not os.path.exists(report):
            fail(f"Preflight: exit {r.returncode}: {r.stdout.decode()}{r.stderr.decode()}")
        root = ET.parse(report).getroot()
        results = root.findall("preflight")
        if len(results) != len(pdfs):
            fail(f"Preflight reported on {len(results)} files, {len(pdfs)} given")
        bad = []
        for (label, path), res in zip(pdfs, results):
            if res.get("name") != os.path.basename(path):
                fail(f"Preflight's report is out of order: {res.get('name')} for {path}")
            valid = res.findtext("isValid")
            errs = [f"{e.findtext('code')} {e.findtext('details')}" for e in res.iter("error")]
            print(f"  {label}: PDF/A-1b valid={valid} {'; '.join(errs[:5])}")
            if valid != "true" or errs:
                bad.append(label)
        if bad:
            fail(f"Preflight rejects {len(bad)} of {len(pdfs)} PDF/A files: {', '.join(bad)}")
        print(f"Preflight: all {len(pdfs)} PDF/A files valid PDF/A-1b")


# ------------------------------------------------------------ size

SIZE_BUDGET = 280_000


def check_size(ipf, repo):
    with tempfile.TemporaryDirectory() as tmp:
        plain = render_all(ipf, repo, os.path.join(tmp, "plain"), ["--no-date"])
        pdfa = render_all(ipf, repo, os.path.join(tmp, "pdfa"), ["--pdfa"],
                          {"SOURCE_DATE_EPOCH": "1700000000"})
        sized = [(os.path.getsize(p), f"{label}{' --pdfa' if kind else ''}")
                 for kind, pdfs in enumerate((plain, pdfa)) for label, p in pdfs]
        over = [(n, label) for n, label in sized if n > SIZE_BUDGET]
        for n, label in sorted(sized, reverse=True)[:5]:
            print(f"  {label}: {n:,} bytes")
        if over:
            fail("over the size budget of %s bytes: %s" % (
                f"{SIZE_BUDGET:,}", ", ".join(f"{label} ({n:,} bytes)" for n, label in over)))
        print(f"size: all {len(sized)} PDFs within {SIZE_BUDGET:,} bytes")


# ------------------------------------------------------------ readers

TOKEN = re.compile(rb"\s*(?:(<<|>>|\[|\])|<([0-9A-Fa-f\s]*)>|\((?:[^()\\]|\\.)*\)|"
                   rb"/([^\s/<>\[\]()]+)|([-+]?\d*\.?\d+)|([A-Za-z'\"*]+))")


def tounicode(cmap):
    """CID -> text from a ToUnicode CMap (bfchar and bfrange)."""
    out = {}
    u16 = lambda h: bytes.fromhex(h).decode("utf-16-be")
    for blk in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for a, b in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", blk):
            out[int(a, 16)] = u16(b.decode())
    for blk in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        # <lo> <hi> [<dst> ...]: one destination per code
        for a, b, arr in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\[([^\]]*)\]", blk):
            dst = re.findall(rb"<([0-9A-Fa-f]+)>", arr)
            if len(dst) != int(b, 16) - int(a, 16) + 1:
                raise ValueError(f"bfrange <{a.decode()}> <{b.decode()}>: {len(dst)} destinations")
            for k, d in enumerate(dst):
                out[int(a, 16) + k] = u16(d.decode())
        blk = re.sub(rb"<[0-9A-Fa-f]+>\s*<[0-9A-Fa-f]+>\s*\[[^\]]*\]", b"", blk)
        for a, b, c in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", blk):
            lo, hi, first = int(a, 16), int(b, 16), u16(c.decode())
            for k in range(hi - lo + 1):
                out[lo + k] = first[:-1] + chr(ord(first[-1]) + k)
    return out


def stream_runs(pdf, page):
    """The page's text as its content stream shows it, in stream order:
    [{"text", "x", "y", "artifact", "actual"}]; "actual" is the /ActualText
    of an enclosing span, if any."""
    res = pdf.get(page.get("/Resources", {}))
    fonts = {k: pdf.get(v) for k, v in pdf.get(res.get("/Font", {})).items()}
    maps = {k: tounicode(pdf.data(f["/ToUnicode"])) for k, f in fonts.items()}
    contents = page["/Contents"]
    data = b"".join(pdf.data(c) + b"\n" for c in (contents if isinstance(contents, list)
                                                   else [contents]))
    runs, stack, args, font = [], [], [], None
    rects = []
    for m in TOKEN.finditer(data):
        delim, hexs, name, num, op = m.groups()
        if op is None:
            args.append(m)
            continue
        op = op.decode()
        if op == "Tf":
            font = "/" + args[0].group(3).decode()
            size = float(args[1].group(4))
        elif op == "BT":
            x = y = 0.0
        elif op == "Tm":
            x, y = float(args[4].group(4)), float(args[5].group(4))
        elif op == "Td":  # relative to the line before, in this BT
            x, y = x + float(args[0].group(4)), y + float(args[1].group(4))
        elif op == "Tj":
            h = re.sub(rb"\s", b"", args[-1].group(2)).decode()
            cids = [int(h[k:k + 4], 16) for k in range(0, len(h), 4)]
            runs.append({"text": "".join(maps[font].get(c, "\ufffd") for c in cids), "x": x,
                         "y": y, "size": size, "artifact": any(t == "Artifact" for t, _ in stack),
                         "actual": next((a for _, a in reversed(stack) if a is not None), None)})
        elif op == "re":
            x0, y0, w, h = (float(a.group(4)) for a in args[-4:])
            rects.append((x0, y0, x0 + w, y0 + h))
        elif op in ("BMC", "BDC"):
            tag = args[0].group(3).decode()
            actual = None
            src = data[args[0].end():m.start()]
            am = re.search(rb"/ActualText\s*<([0-9A-Fa-f\s]*)>", src)
            if am:
                b = bytes.fromhex(re.sub(rb"\s", b"", am.group(1)).decode())
                actual = b[2:].decode("utf-16-be") if b[:2] == b"\xfe\xff" else b.decode()
            stack.append((tag, actual))
        elif op == "EMC":
            stack.pop()
        args = []
    page_rects[id(page)] = rects
    return runs


page_rects = {}


def spanning_labels(page, runs):
    """Cells that span rows, found in the drawing: a frame with two or more
    frames beside it on the right within its height.  Returns [(label text,
    first line of what it labels, its first line that occurs once on the
    page)], without white space."""
    rects = page_rects[id(page)]
    out = []

    def inside(r, q):
        return q[0] <= r["x"] + 0.5 <= q[2] and q[1] <= r["y"] <= q[3]

    def cell_of(r):
        best = None
        for q in rects:
            if inside(r, q) and (best is None or (q[2] - q[0]) * (q[3] - q[1]) <
                                 (best[2] - best[0]) * (best[3] - best[1])):
                best = q
        return best

    cells = [cell_of(r) for r in runs]
    for q in set(rects):
        beside = [b for b in set(rects) if abs(b[0] - q[2]) < 1 and b[1] >= q[1] - 1 and
                  b[3] <= q[3] + 1]
        if len(beside) < 2:
            continue
        label = squash("".join(r["text"] for r, c in zip(runs, cells) if c == q))
        content = [r for r, c in zip(runs, cells) if c is not None and c[0] >= q[2] - 1 and
                   c[1] >= q[1] - 1 and c[3] <= q[3] + 1 and squash(r["text"])]
        if label and content:
            content.sort(key=lambda r: (-r["y"], r["x"]))
            page_text = squash("".join(r["text"] for r in runs))
            once = [squash(r["text"]) for r in content
                    if page_text.count(squash(r["text"])) == 1]
            if once:
                out.append((label, squash(content[0]["text"]), once[0]))
    return out


def stream_lines(runs):
    """Runs grouped into the lines a reader sees: consecutive runs on one
    baseline less than an em apart (a run's width is taken as at most one em
    per character).  Each line is its text without white space."""
    lines = []
    last = None
    for r in runs:
        t = squash(r["text"])
        if not t:
            continue
        if (lines and last and abs(r["y"] - last["y"]) < 0.5 and
                last["x"] <= r["x"] <= last["x"] + (len(last["text"]) + 1) * last["size"]):
            lines[-1] += t
        else:
            lines.append(t)
        last = r
    return lines


def read_pdftotext(path, n):
    r = run(["pdftotext", "-enc", "UTF-8", path, "-"])
    if r.returncode != 0 or r.stderr.strip():
        fail(f"pdftotext {path}: {r.stderr.decode().strip()[:300]}")
    return r.stdout.decode().split("\f")[:n]


def read_mutool(path, n):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "p%d.txt")
        r = run(["mutool", "draw", "-q", "-F", "txt", "-o", out, path])
        err = "\n".join(l for l in r.stderr.decode().splitlines()
                        if l.strip() and "ICC support is not available" not in l)
        if r.returncode != 0 or err:
            fail(f"mutool draw -F txt {path}: exit {r.returncode}: {err[:300]}")
        return [open(out % (i + 1), encoding="utf-8").read() for i in range(n)]


def read_pdfminer(path, n):
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer
    pages = []
    for layout in extract_pages(path):
        pages.append("\n".join(e.get_text() for e in layout if isinstance(e, LTTextContainer)))
    return pages[:n] + [""] * (n - len(pages))


PDFJS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pdfjs_text.js")
PDFJS_BUILD = "/usr/share/javascript/pdf/build/pdf.js"


def read_pdfjs(path, n):
    r = run(["node", PDFJS, path])
    if r.returncode != 0 or r.stderr.strip():
        fail(f"pdf.js {path}: exit {r.returncode}: {r.stderr.decode().strip()[:300]}")
    pages = r.stdout.decode().split("\f")[:n]
    return pages + [""] * (n - len(pages))


# pdf.js gives some characters in their compatibility form ("……" as six
# full stops); what it reads is compared with the stream's text in that form.
COMPAT = {"pdf.js": lambda t: unicodedata.normalize("NFKC", t)}


READERS = [("pdftotext", read_pdftotext), ("mutool", read_mutool), ("pdfminer", read_pdfminer),
           ("pdf.js", read_pdfjs)]


def in_order(text, lines):
    """The first of lines not found in text after the previous one, or None."""
    at = 0
    for ln in lines:
        k = text.find(ln, at)
        if k < 0:
            return ln
        at = k + len(ln)
    return None


def first_numbered(ref):
    """Index of the first page that carries a printed page number."""
    for i, runs in enumerate(ref):
        if printed_number(runs) is not None:
            return i
    return len(ref)


def roman(n):
    out = ""
    for v, r in [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                 (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]:
        while n >= v:
            out += r
            n -= v
    return out


def page_labels(path, npages):
    """Each page's label as a viewer shows it (qpdf reads /PageLabels)."""
    r = run(["qpdf", "--json", path])
    ranges = json.loads(r.stdout).get("pagelabels", [])
    out = []
    for p in range(npages):
        rng = [x for x in ranges if x["index"] <= p]
        if not rng:
            out.append(str(p + 1))
            continue
        lab = rng[-1]["label"]
        n = lab.get("/St", 1) + p - rng[-1]["index"]
        style = lab.get("/S")
        body = {"/D": str(n), "/r": roman(n), "/R": roman(n).upper()}.get(style, "")
        out.append(text(lab.get("/P", "")) + body)
    return out


def printed_number(runs):
    """The page number printed on a page: the first number in the lowest
    artifact text ("— 3 —", "第 3 页 共 9 页"), or None."""
    foot = [r for r in runs if r["artifact"] and squash(r["text"])]
    if not foot:
        return None
    low = min(r["y"] for r in foot)
    t = "".join(squash(r["text"]) for r in foot if abs(r["y"] - low) < 1)
    m = re.search(r"\d+", t)
    return m.group(0) if m and not t.endswith("（续）") else None


def check_document(pdf, path, ref):
    """What a viewer shows about the document: page numbers as printed,
    metadata (XMP agreeing with Info, /Lang), a title of its own."""
    problems = []
    labels = page_labels(path, len(ref))
    printed = [printed_number(runs) for runs in ref]
    for i, (lab, num) in enumerate(zip(labels, printed)):
        if num is not None and lab != num:
            problems.append(f"p{i + 1} is printed — {num} — but a viewer calls it {lab!r}")
        if num is None and (lab.isdigit() or lab in printed):
            problems.append(f"p{i + 1} has no printed number but the label {lab!r}")
    if len(set(labels)) != len(labels):
        problems.append(f"page labels repeat: {labels}")
    info = pdf.info()
    title = info.get("Title", "")
    if not title or re.search(r"（\s*）|\(\s*\)|【\s*】|“\s*”", title):
        problems.append(f"Title {title!r}: empty, or brackets around an empty value")
    check_metadata(pdf, dated=True, pdfa=False)
    print(f"    page labels {' '.join(labels)}; Title {title}; "
          f"Author {info.get('Author', '(none)')}")
    return problems


def check_readers_one(label, path, order_readers, label_readers):
    pdf = Pdf(path)
    pages = pdf.pages()
    ref = [stream_runs(pdf, p) for p in pages]
    problems = check_document(pdf, path, ref)
    checked_boxes = spans = 0
    # Page furniture is marked as artifacts, and only it: page numbers and
    # the headings repeated with （续）.
    furniture = 0
    for i, runs in enumerate(ref):
        for r in runs:
            t = squash(r["text"])
            is_number = re.fullmatch(r"—\d+—", t) is not None
            if (is_number or t.endswith("（续）")) and not r["artifact"]:
                problems.append(f"p{i + 1}: \"{t}\" is page furniture not marked as an artifact")
            if r["artifact"] and not is_number:
                furniture += 1
        if i >= first_numbered(ref) and printed_number(runs) is None:
            problems.append(f"p{i + 1}: no page number marked as an artifact")
    if not any(r["artifact"] for runs in ref for r in runs):
        problems.append("no artifacts at all")
    for name, reader in READERS:
        norm = COMPAT.get(name, lambda t: t)
        got = [norm(t) for t in reader(path, len(pages))]
        for i, page_runs in enumerate(ref):
            runs = [dict(r, text=norm(r["text"])) for r in page_runs]
            want_chars = sorted(squash("".join(r["text"] for r in runs)))
            have = squash(got[i])
            if sorted(have) != want_chars:
                w, h = "".join(want_chars), "".join(sorted(have))
                extra = sorted(set(h) - set(w))[:10]
                lost = sorted(set(w) - set(h))[:10]
                problems.append(f"{name} p{i + 1}: characters differ from the content stream "
                                f"({len(have)} vs {len(want_chars)}; missing {lost}, extra {extra})")
                continue
            # A run is drawn as one piece of a line: no reader may see a word
            # break inside it (a letter-spaced "备案表" read as "备 案 表").
            raw = got[i]
            for r in runs:
                t = r["text"].strip()
                if len(t) > 1 and not re.search(r"\s", t) and t not in raw:
                    problems.append(f"{name} p{i + 1}: \"{t}\" not read as one word")
            # A check box is text attached to what it ticks ("☑基础服务"),
            # in every reader: copy, search and screen readers get it.
            for k, r in enumerate(runs[:-1]):
                # (the glyph's own baseline is set to centre the box)
                if r["text"] in ("□", "☑") and abs(runs[k + 1]["y"] - r["y"]) < r["size"] / 2:
                    checked_boxes += 1
                    ticked = r["text"] + squash(runs[k + 1]["text"])[:4]
                    if ticked not in have:
                        problems.append(f"{name} p{i + 1}: check box \"{ticked}\" not read "
                                        "as one")
            # A label spanning rows is read before what it labels: the first
            # line of its rows is never read with the label only after it.
            if name in label_readers:
                for lab, first, anchor in spanning_labels(pages[i], runs):
                    spans += name == "mutool"
                    # the first line is found back from one that occurs once
                    # ("名称" is in many rows)
                    end = have.find(anchor)
                    at = have.rfind(first, 0, end + len(anchor)) if end >= 0 else -1
                    if at >= 0 and lab not in have[:at]:
                        problems.append(f"{name} p{i + 1}: label \"{lab}\" read after "
                                        f"\"{first}\"")
            if name in order_readers:
                bad = in_order(have, stream_lines(runs))
                if bad is not None:
                    problems.append(f"{name} p{i + 1}: \"{bad}\" is not where the content "
                                    "stream has it")
    boxes = sum(r["text"].count("□") + r["text"].count("☑") for runs in ref for r in runs)
    if checked_boxes != len(READERS) * boxes:
        problems.append(f"only {checked_boxes // len(READERS)} of {boxes} check boxes precede text")
    print(f"  {label}: {len(pages)} pages, {boxes} check boxes, {spans} spanning labels, "
          f"{furniture} repeated heading runs, " + ("ok" if not problems else
                                                 f"{len(problems)} problem(s)"))
    for p in problems[:12]:
        print("    " + p)
    return problems


def check_readers(ipf, repo):
    for tool in ["qpdf", "pdftotext", "mutool", "node"]:
        if not shutil.which(tool):
            print(f"skip: {tool} missing (tools/deps.sh installs it)")
            sys.exit(77)
    if not os.path.exists(PDFJS_BUILD):
        print(f"skip: {PDFJS_BUILD} missing (libjs-pdf; tools/deps.sh installs it)")
        sys.exit(77)
    try:
        import pdfminer  # noqa: F401
    except ImportError:
        print("skip: pdfminer missing (python3-pdfminer; tools/deps.sh installs it)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = render_all(ipf, repo, tmp, [], {"SOURCE_DATE_EPOCH": "1700000000"})
        bad = 0
        for label, path in pdfs:
            # mutool and pdf.js read in content stream order; pdftotext (a table column
            # by column) and pdfminer (text boxes by position) analyse the
            # layout, so they are held to the characters; all four to labels
            # spanning rows before their rows.  pdfminer orders its text boxes
            # by position alone (x0 - 3 (y0 + y1) with its default boxes_flow),
            # so that holds because the templates set such labels at the top
            # of their rows (a case number), as the stream order has them.
            bad += len(check_readers_one(label, path, ["mutool", "pdf.js"],
                                         ["pdftotext", "mutool", "pdf.js", "pdfminer"])) > 0
        if bad:
            fail(f"{bad} of {len(pdfs)} PDFs read back differently")
        print(f"readers: all {len(pdfs)} PDFs read back by pdftotext, mutool, pdfminer and "
              "pdf.js")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "readers":
        check_readers(sys.argv[2], sys.argv[3])
        print("ok")
        return
    if len(sys.argv) >= 5 and sys.argv[1] == "pdfa":
        check_pdfa_command(*sys.argv[2:6])
        print("ok")
        return
    if len(sys.argv) == 4 and sys.argv[1] == "size":
        check_size(sys.argv[2], sys.argv[3])
        print("ok")
        return
    if len(sys.argv) == 4 and sys.argv[1] == "preflight":
        check_preflight(sys.argv[2], sys.argv[3])
        print("ok")
        return
    print(__doc__)
    sys.exit(2)


if __name__ == "__main__":
    main()
