# Batch production (src/batch.c, atomic.c, naming.c, main.c): the ipforms
# command on mixed batches, signals, progress, names and --combine.
foreach(case mixed validate signal sweep cli progress name timeout combine)
  add_test(NAME batch.${case}
           COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/batch_checks.py ${case}
                   $<TARGET_FILE:ipforms> ${CMAKE_SOURCE_DIR})
endforeach()
set_tests_properties(batch.signal batch.timeout PROPERTIES TIMEOUT 240)

# A report that cannot be written is named as what it is (a file, not a
# PDF), with the reason, and the run fails (exit 2).
add_test(NAME batch.report-unwritable
         COMMAND sh -c "\"$0\" validate -q --report /nonexistent-ipf-dir/round.jsonl \"$1\" 2>&1; echo exit=$?"
                 $<TARGET_FILE:ipforms>
                 ${CMAKE_SOURCE_DIR}/samples/national-filing/chongqing-university-library.xml)
set_tests_properties(batch.report-unwritable PROPERTIES
  PASS_REGULAR_EXPRESSION "^/nonexistent-ipf-dir/round.jsonl: error FILE-WRITE 无法写入文件“/nonexistent-ipf-dir/round.jsonl”：目录不存在（创建临时文件）\nexit=2\n$")
# Named by what it is, not by its name's ending: a report called .csv is
# still a report (the writer is told the kind, atomic.h).
add_test(NAME batch.report-unwritable-csv-name
         COMMAND sh -c "\"$0\" validate -q --report /nonexistent-ipf-dir/round.csv \"$1\" 2>&1; echo exit=$?"
                 $<TARGET_FILE:ipforms>
                 ${CMAKE_SOURCE_DIR}/samples/national-filing/chongqing-university-library.xml)
set_tests_properties(batch.report-unwritable-csv-name PROPERTIES
  PASS_REGULAR_EXPRESSION "^/nonexistent-ipf-dir/round.csv: error FILE-WRITE 无法写入文件“/nonexistent-ipf-dir/round.csv”：目录不存在（创建临时文件）\nexit=2\n$")
