# Hostile and broken input, layout extremes and output safety (issue 4,
# docs/threat-model.md): tests/hostile_checks.py drives the ipforms command
# and asserts exact diagnostics, exit codes and an untouched output directory.
set(IPF_HOSTILE ${CMAKE_SOURCE_DIR}/tests/hostile_checks.py)

# Committed hostile data files, each with its .expected diagnostics.
file(GLOB IPF_HOSTILE_DATA CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/hostile/data/*.xml)
foreach(f ${IPF_HOSTILE_DATA})
  get_filename_component(name ${f} NAME_WE)
  list(APPEND IPF_HOSTILE_CASES "xml ${name}")
endforeach()
foreach(c too-large at-size-limit too-deep text-too-long too-many-nodes too-many-attributes
          device many-bad-lines file-name directory missing)
  list(APPEND IPF_HOSTILE_CASES "limit ${c}")
endforeach()
foreach(c long-url digit-run tall-cell staff-500 empty-fields tenfold missing-glyph)
  list(APPEND IPF_HOSTILE_CASES "layout ${c}")
endforeach()
foreach(c malformed unknown-element bad-xpath unknown-setting column-widths span-beyond
          missing-font missing-schema undeclared-prefix loop-variable-outside)
  list(APPEND IPF_HOSTILE_CASES "template ${c}")
endforeach()
foreach(c missing-dir dir-is-file unwritable-dir read-only-fs disk-full file-size-limit
          keep-existing open-elsewhere target-is-dir)
  list(APPEND IPF_HOSTILE_CASES "output ${c}")
endforeach()

foreach(entry ${IPF_HOSTILE_CASES})
  separate_arguments(parts UNIX_COMMAND "${entry}")
  list(GET parts 0 cls)
  list(GET parts 1 case)
  add_test(NAME hostile.${cls}.${case}
           COMMAND ${IPF_HOSTILE} ${cls} ${case} $<TARGET_FILE:ipforms> ${CMAKE_SOURCE_DIR})
  # 77: a tool (poppler-utils, unshare) or kernel feature is missing.
  set_tests_properties(hostile.${cls}.${case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()

# Second round (issue 11): tests/hostile_robust.py, one test per case.
set(IPF_HOSTILE_ROBUST ${CMAKE_SOURCE_DIR}/tests/hostile_robust.py)
foreach(case covering-font blank-looking libxml2-silent every-text-printed mixed-content
             big-lines cr-only many-unexpected glyph-flood fifo attribute-too-long
             template-budget rules-budget page-limit truncated-font visible-difference
             no-forms zero-fr template-typesetting template-font-no-cjk required-attribute
             required-element)
  add_test(NAME hostile.robust.${case}
           COMMAND ${IPF_HOSTILE_ROBUST} ${case} $<TARGET_FILE:ipforms> ${CMAKE_SOURCE_DIR})
  set_tests_properties(hostile.robust.${case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
# Four layouts of 33,795 pages (validate, render, render --force twice):
# some 200 s under the sanitizers.
set_tests_properties(hostile.robust.page-limit PROPERTIES TIMEOUT 900)

# Out of memory during the schema or rule checks never lets a document pass
# (libxml2's allocators replaced by failing ones, tests/test_robust.c).
add_executable(test_robust ${CMAKE_SOURCE_DIR}/tests/test_robust.c)
target_link_libraries(test_robust PRIVATE ipforms_core)
add_test(NAME hostile.robust.validate-oom COMMAND test_robust ${CMAKE_SOURCE_DIR})
set_tests_properties(hostile.robust.validate-oom PROPERTIES FAIL_REGULAR_EXPRESSION "error :|memory error")

# Out of memory anywhere (issue 11): ipforms built again with every
# allocation of its own code, libxml2 and ICU going through a hook that fails
# the k-th one (tests/oom_hook.c); tests/oom_checks.py renders a sample with
# k running over a bounded spread of the allocations and asserts a clear
# diagnostic and exit 2, no crash, no leak, no partial or temporary file.
add_executable(ipforms_oom ${CMAKE_SOURCE_DIR}/src/main.c ${CMAKE_SOURCE_DIR}/tests/oom_hook.c)
target_link_libraries(ipforms_oom PRIVATE ipforms_core)
target_compile_definitions(ipforms_oom PRIVATE _POSIX_C_SOURCE=200809L)
target_link_options(ipforms_oom PRIVATE
  "LINKER:--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup" -rdynamic)
add_test(NAME hostile.robust.oom-everywhere
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/oom_checks.py
                 $<TARGET_FILE:ipforms_oom> ${CMAKE_SOURCE_DIR})
set_tests_properties(hostile.robust.oom-everywhere PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
