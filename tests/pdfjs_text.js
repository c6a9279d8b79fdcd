// Prints the text pdf.js (Debian's libjs-pdf) extracts from a PDF, page by
// page, each page ended by a form feed: the reader of Firefox and of many
// web viewers, for tests/pdf_checks.py.  Items are joined as pdf.js gives
// them (content stream order), a line break where it marks an end of line.
// Usage: node tests/pdfjs_text.js FILE.pdf
"use strict";
const BUILD = "/usr/share/javascript/pdf/build/";
const pdfjs = require(BUILD + "pdf.js");
pdfjs.GlobalWorkerOptions.workerSrc = BUILD + "pdf.worker.js";

(async () => {
  const doc = await pdfjs.getDocument({ url: process.argv[2], disableWorker: true,
                                        verbosity: 0 }).promise;
  let out = "";
  for (let p = 1; p <= doc.numPages; p++) {
    const page = await doc.getPage(p);
    const tc = await page.getTextContent();
    out += tc.items.map((i) => i.str + (i.hasEOL ? "\n" : "")).join("") + "\f";
  }
  process.stdout.write(out);
})().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
