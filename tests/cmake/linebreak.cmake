# Line breaking (src/linebreak.c): one test per case table in
# tests/data/linebreak, and one for the generated paragraphs (API, long runs
# without opportunities, 100,000 characters at each level, fuzz).
add_executable(test_linebreak ${PROJECT_SOURCE_DIR}/tests/test_linebreak.c)
target_link_libraries(test_linebreak PRIVATE ipforms_core)

set(IPF_LB_DATA ${PROJECT_SOURCE_DIR}/tests/data/linebreak)
file(GLOB IPF_LB_TABLES CONFIGURE_DEPENDS ${IPF_LB_DATA}/*.txt)
foreach(table ${IPF_LB_TABLES})
  get_filename_component(table_name ${table} NAME_WE)
  add_test(NAME linebreak.${table_name} COMMAND test_linebreak ${IPF_LB_DATA} ${table_name}.txt)
endforeach()
add_test(NAME linebreak.generated COMMAND test_linebreak ${IPF_LB_DATA} --generated)
# Linear time is asserted through results, not timing; this only stops a
# quadratic regression from hanging CI for the default 25 minutes.
set_tests_properties(linebreak.generated PROPERTIES TIMEOUT 300)
