# The shared XPath functions and the scan of names (src/xpathfn.c), as case
# tables: tests/data/xpathfn/values.txt, names.txt, and interp.txt (the one
# {…} scanner of template texts and rule messages).
add_executable(test_xpathfn ${PROJECT_SOURCE_DIR}/tests/test_xpathfn.c)
target_link_libraries(test_xpathfn PRIVATE ipforms_core)
foreach(table values names interp)
  add_test(NAME xpathfn.${table}
           COMMAND test_xpathfn ${PROJECT_SOURCE_DIR}/tests/data/xpathfn ${table}.txt)
endforeach()
