# The fontset module and the font it is built for.
add_executable(test_fontset ${CMAKE_SOURCE_DIR}/tests/test_fontset.c)
target_link_libraries(test_fontset PRIVATE ipforms_core)
add_test(NAME fontset.unit COMMAND test_fontset ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})

# fonts/FandolFang-Regular.ttf must be what tools/make-font.py makes today.
# Needs Debian's python3-fonttools and texlive-lang-chinese; without them the
# script exits 77 and the test shows as skipped.  Debian's interpreter is
# named on purpose: another python3 earlier in PATH may lack fontTools.
find_program(IPF_FONT_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(IPF_FONT_PYTHON)
  add_test(NAME fontset.font-up-to-date
           COMMAND ${IPF_FONT_PYTHON} ${CMAKE_SOURCE_DIR}/tools/make-font.py
                   --compare ${CMAKE_SOURCE_DIR}/fonts/FandolFang-Regular.ttf)
  set_tests_properties(fontset.font-up-to-date PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
else()
  message(STATUS "fontset.font-up-to-date not registered: no /usr/bin/python3")
endif()
