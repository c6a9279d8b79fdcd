# The once-per-process glyph compressor (src/pdf_glyphz.c), checked against
# zlib's inflate.
find_package(ZLIB REQUIRED)
add_executable(test_glyphz ${CMAKE_SOURCE_DIR}/tests/test_glyphz.c)
target_link_libraries(test_glyphz PRIVATE ipforms_core ZLIB::ZLIB)
add_test(NAME pdf.glyph-compressor COMMAND test_glyphz)
