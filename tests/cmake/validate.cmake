# Validation behaviour that needs more than a golden sample.

# NAT-DEADLINE: its setting is empty in the shipped rules, so no invalid
# sample can show it; the script sets it in a copy of templates/.
add_test(NAME validate.deadline
         COMMAND ${CMAKE_COMMAND} -DIPFORMS=$<TARGET_FILE:ipforms> -DREPO=${CMAKE_SOURCE_DIR}
                 -DWORK=${CMAKE_CURRENT_BINARY_DIR}/validate-deadline
                 -P ${CMAKE_SOURCE_DIR}/tests/deadline_check.cmake)
