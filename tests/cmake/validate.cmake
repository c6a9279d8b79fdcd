# Validation behaviour that needs more than a golden sample.

# NAT-DEADLINE: its setting is empty in the shipped rules, so no invalid
# sample can show it; the script sets it in a copy of templates/.
add_test(NAME validate.deadline
         COMMAND ${CMAKE_COMMAND} -DIPFORMS=$<TARGET_FILE:ipforms> -DREPO=${CMAKE_SOURCE_DIR}
                 -DWORK=${CMAKE_CURRENT_BINARY_DIR}/validate-deadline
                 -P ${CMAKE_SOURCE_DIR}/tests/deadline_check.cmake)

# The library's validation (src/ipforms.h): valid samples give no diagnostic;
# a document with many problems reports all of them at once, with lines.
add_executable(test_validate ${CMAKE_SOURCE_DIR}/tests/test_validate.c)
target_link_libraries(test_validate PRIVATE ipforms_core)
target_compile_definitions(test_validate PRIVATE IPF_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
foreach(case valid many)
  add_test(NAME validate.${case} COMMAND test_validate ${case})
endforeach()
