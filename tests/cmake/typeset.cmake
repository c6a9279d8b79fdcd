# Typesetting read back from the glyph positions (mutool's structured text)
# of every valid sample and every form's blank PDF: adjacent marks compressed,
# no lone mark under 0.6 em, no loose justified line, no widow or orphan
# (tests/typeset_checks.py; docs/line-breaking.md).  Generic over the forms:
# a new form's samples and blank are read without a line here.
add_test(NAME typeset.all-forms
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/typeset_checks.py all
                 $<TARGET_FILE:ipforms> ${CMAKE_SOURCE_DIR})
set_tests_properties(typeset.all-forms PROPERTIES SKIP_RETURN_CODE 77)
# Each check fails on the defect it names (synthetic lines).
add_test(NAME typeset.selftest
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/typeset_checks.py selftest)
# Page breaks shifted through every line of a paragraph, in a page block and
# in a split table cell (tests/data/templates/flow-test): no widow, no orphan.
add_test(NAME typeset.flow
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/typeset_checks.py flow
                 $<TARGET_FILE:ipforms> ${CMAKE_SOURCE_DIR})
set_tests_properties(typeset.flow PROPERTIES SKIP_RETURN_CODE 77)
