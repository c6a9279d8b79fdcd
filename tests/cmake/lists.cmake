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

foreach(case pdf csv rosters sources grouped grouped-hubei title-block rollup rollup-jobs rollup-samples render-list blank-rollup)
  add_test(NAME lists.cmd.${case}
           COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/list_checks.py ${case}
                   $<TARGET_FILE:ipforms> ${PROJECT_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/lists-work)
  set_tests_properties(lists.cmd.${case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()

# The region table is complete and well-formed (tests/regions_checks.py).
add_test(NAME lists.regions
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/regions_checks.py ${PROJECT_SOURCE_DIR})
