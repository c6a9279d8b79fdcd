# Lists and roll-ups (src/csv.c, src/collate.c, src/collect.c; docs/lists.md):
# unit cases, then the commands end to end with the PDF read back through
# pdftotext and the CSV read as bytes (tests/list_checks.py).
add_executable(test_lists ${PROJECT_SOURCE_DIR}/tests/test_lists.c)
target_link_libraries(test_lists PRIVATE ipforms_core)
foreach(case read write collate keys)
  add_test(NAME lists.${case}
           COMMAND test_lists ${case} ${PROJECT_SOURCE_DIR}/templates
                   ${PROJECT_SOURCE_DIR}/tests/data/lists)
endforeach()
