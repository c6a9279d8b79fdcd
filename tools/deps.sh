#!/bin/sh
# Installs, from Debian 12's archive, whatever ipforms needs and the machine
# lacks.  Does nothing (and needs no network) when all is already there.
set -eu
PKGS="cmake make gcc pkg-config libhpdf-dev libxml2-dev libxml2-utils zlib1g-dev libdeflate-dev libfreetype-dev
libicu-dev python3 poppler-utils qpdf icc-profiles-free fonts-dejavu-core"
# Tests check the PDFs with tools nobody here wrote: Apache PDFBox's Preflight
# validates PDF/A-1b (on Java 17 it needs JAXB and activation, no longer in
# the JDK).
PKGS="$PKGS libpdfbox2-java libactivation-java libjaxb-api-java"
# ... and read them back with three text extractors besides poppler's: MuPDF's
# mutool (also for the glyph positions in tests/typeset_checks.py), pdfminer,
# and pdf.js (Debian's libjs-pdf, run with nodejs).
PKGS="$PKGS mupdf-tools python3-pdfminer nodejs libjs-pdf"
# The render tests evaluate each template's XPath against its samples (lxml).
PKGS="$PKGS python3-lxml"
if [ "${1:-}" = "--ci" ]; then
    # CI also builds the fuzz targets and the sanitizer build with clang.
    PKGS="$PKGS clang libclang-rt-14-dev"
fi
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "ipforms: installing:$missing"
    if [ "$(id -u)" -ne 0 ]; then
        echo "ipforms: run as root (or install these packages with sudo apt-get install)" >&2
        exit 2
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
