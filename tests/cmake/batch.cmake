# Batch production (src/batch.c, atomic.c, naming.c, main.c): the ipforms
# command on mixed batches, signals, progress, names and --combine.
foreach(case mixed validate signal sweep cli progress name timeout combine)
  add_test(NAME batch.${case}
           COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/batch_checks.py ${case}
                   $<TARGET_FILE:ipforms> ${CMAKE_SOURCE_DIR})
endforeach()
set_tests_properties(batch.signal batch.timeout PROPERTIES TIMEOUT 240)
