# The display list and the PDF writer (src/drawing.c, src/pdf*.c): one ctest
# per case of tests/test_pdf.c.  Cases that need poppler-utils or qpdf are
# skipped (exit 77) where those tools are missing.
add_executable(test_pdf ${CMAKE_SOURCE_DIR}/tests/test_pdf.c)
# zlib: the tests inflate the writer's streams with a second, independent
# implementation of deflate.
find_package(ZLIB REQUIRED)
target_link_libraries(test_pdf PRIVATE ipforms_core ZLIB::ZLIB)
target_compile_definitions(test_pdf PRIVATE IPF_FONTS_DIR="${CMAKE_SOURCE_DIR}/fonts")

foreach(case drawing text fonts info outlines check deterministic pdfa atomic errors subset render)
  add_test(NAME pdf.${case} COMMAND test_pdf ${case})
  set_tests_properties(pdf.${case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()

# PDF/A-1b through the command: the national sample with and without --pdfa,
# every part checked with qpdf (tests/pdf_checks.py); DejaVu Sans brings
# composite glyphs whose components the CIDSet must list.
add_test(NAME pdf.pdfa-command
         COMMAND ${CMAKE_SOURCE_DIR}/tests/pdf_checks.py pdfa $<TARGET_FILE:ipforms>
                 ${CMAKE_SOURCE_DIR}
                 ${CMAKE_SOURCE_DIR}/samples/national-filing/chongqing-university-library.xml
                 /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf)
set_tests_properties(pdf.pdfa-command PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

# Every form's --pdfa output (each sample and the blank form) validated by a
# PDF/A-1b validator nobody here wrote: Apache PDFBox's Preflight.
add_test(NAME pdf.preflight
         COMMAND ${CMAKE_SOURCE_DIR}/tests/pdf_checks.py preflight $<TARGET_FILE:ipforms>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(pdf.preflight PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# Every form's PDFs (each sample and the blank form, plain and --pdfa) within
# the size budget of 280,000 bytes (issue 8).
add_test(NAME pdf.size-budget
         COMMAND ${CMAKE_SOURCE_DIR}/tests/pdf_checks.py size $<TARGET_FILE:ipforms>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(pdf.size-budget PROPERTIES TIMEOUT 300)

# Every form's PDFs (each sample and the blank form) read back by four
# readers nobody here wrote -- pdftotext, mutool, pdfminer, pdf.js -- against
# the text the content streams show: same characters on every page, and (for
# the readers that follow the stream) the same order.
add_test(NAME pdf.readers
         COMMAND ${CMAKE_SOURCE_DIR}/tests/pdf_checks.py readers $<TARGET_FILE:ipforms>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(pdf.readers PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
