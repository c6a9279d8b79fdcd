# Validation (src/validate.c, schema.c, rules.c): a unit test that links the
# library, and golden diagnostics for invalid samples that need other rule
# settings than the defaults.
#
# This file has two uses.  Included by tests/CMakeLists.txt it registers the
# tests.  Run as a script (cmake -P) with -DCOVERAGE=REPO it checks that every
# rule code has an invalid sample; run with -DSAMPLE=... it performs one
# "golden with settings" check:
#
#   samples/invalid/<form>/X.settings   lines "name=value" (# starts a comment)
#   samples/invalid/<form>/X.expected   exact stderr of
#       ipforms validate --templates <copy of templates/ with those settings> \
#                        samples/invalid/<form>/X.xml     (run from the repo root)
#
# A setting such as submission-deadline is empty by default (a deadline
# belongs to one filing round), so the rule it drives can only be seen with
# the setting changed, which is what an office does: it edits rules.xml.  The
# check also runs the sample against the unchanged templates and expects it
# to pass silently, so the setting is shown to be what triggers the rule.

if(CMAKE_SCRIPT_MODE_FILE AND DEFINED COVERAGE)
  # Every rule code of templates/<form>/rules.xml is shown by at least one
  # invalid sample: samples/invalid/<form>/*.expected names it.
  file(GLOB rule_files ${COVERAGE}/templates/*/rules.xml)
  set(missing "")
  set(total 0)
  foreach(rf ${rule_files})
    get_filename_component(fdir ${rf} DIRECTORY)
    get_filename_component(form ${fdir} NAME)
    file(READ ${rf} text)
    string(REGEX MATCHALL "<rule code=\"[A-Z0-9-]+\"" codes "${text}")
    file(GLOB expected_files ${COVERAGE}/samples/invalid/${form}/*.expected)
    set(all "")
    foreach(ef ${expected_files})
      file(READ ${ef} e)
      string(APPEND all "${e}")
    endforeach()
    foreach(c ${codes})
      string(REGEX REPLACE "^<rule code=\"(.*)\"$" "\\1" c "${c}")
      math(EXPR total "${total} + 1")
      string(FIND "${all}" " ${c} " at)
      if(at EQUAL -1)
        list(APPEND missing "${form}: ${c}")
      endif()
    endforeach()
  endforeach()
  if(missing)
    string(REPLACE ";" "\n  " missing "${missing}")
    message(FATAL_ERROR "rules without an invalid sample (samples/invalid/<form>/X.xml + "
                        "X.expected):\n  ${missing}")
  endif()
  if(total EQUAL 0)
    message(FATAL_ERROR "no rules found under ${COVERAGE}/templates")
  endif()
  message(STATUS "${total} rule codes, each shown by an invalid sample")
  return()
endif()

if(CMAKE_SCRIPT_MODE_FILE)
  foreach(var IPF REPO SAMPLE WORK)
    if(NOT DEFINED ${var})
      message(FATAL_ERROR "validate.cmake: -D${var}=... is required")
    endif()
  endforeach()
  get_filename_component(dir ${SAMPLE} DIRECTORY)
  get_filename_component(form ${dir} NAME)
  string(REGEX REPLACE "\\.xml$" "" stem ${SAMPLE})
  file(RELATIVE_PATH rel ${REPO} ${SAMPLE})

  # The unchanged templates: valid, nothing printed.
  execute_process(COMMAND ${IPF} validate -q ${rel} WORKING_DIRECTORY ${REPO}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
    message(FATAL_ERROR "with the default settings ${rel} should pass silently; "
                        "exit ${rc}, stderr:\n${err}")
  endif()

  # A copy of the templates with the sample's settings.
  file(REMOVE_RECURSE ${WORK})
  file(MAKE_DIRECTORY ${WORK})
  file(COPY ${REPO}/templates DESTINATION ${WORK})
  set(rules_file ${WORK}/templates/${form}/rules.xml)
  file(READ ${rules_file} rules)
  file(READ ${stem}.settings raw)
  if(raw MATCHES ";")
    message(FATAL_ERROR "${stem}.settings: a value may not contain \";\" (CMake list separator)")
  endif()
  file(STRINGS ${stem}.settings lines ENCODING UTF-8)
  set(n 0)
  foreach(line IN LISTS lines)
    if(line MATCHES "^[ \t]*(#|$)")
      continue()
    endif()
    if(NOT line MATCHES "^[ \t]*([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=(.*)$")
      message(FATAL_ERROR "${stem}.settings: not name=value: ${line}")
    endif()
    set(name ${CMAKE_MATCH_1})
    string(STRIP "${CMAKE_MATCH_2}" value)
    string(REPLACE "&" "&amp;" value "${value}")
    string(REPLACE "<" "&lt;" value "${value}")
    string(REPLACE "\"" "&quot;" value "${value}")
    string(REGEX MATCH "<setting name=\"${name}\"[^>]*value=\"[^\"]*\"" old "${rules}")
    if(old STREQUAL "")
      message(FATAL_ERROR "${stem}.settings: ${form}/rules.xml has no <setting name=\"${name}\">")
    endif()
    string(FIND "${old}" "value=\"" at REVERSE)
    string(SUBSTRING "${old}" 0 ${at} keep)
    string(REPLACE "${old}" "${keep}value=\"${value}\"" rules "${rules}")
    math(EXPR n "${n} + 1")
  endforeach()
  if(n EQUAL 0)
    message(FATAL_ERROR "${stem}.settings sets nothing")
  endif()
  file(WRITE ${rules_file} "${rules}")

  execute_process(COMMAND ${IPF} validate -q --templates ${WORK}/templates ${rel}
                  WORKING_DIRECTORY ${REPO} RESULT_VARIABLE rc ERROR_VARIABLE got
                  OUTPUT_VARIABLE out)
  file(READ ${stem}.expected want)
  string(STRIP "${want}" want)
  string(STRIP "${got}" got)
  if(NOT got STREQUAL want)
    message(FATAL_ERROR "diagnostics differ\n--- expected\n${want}\n--- got\n${got}")
  endif()
  # Warnings alone leave the data valid (exit 0); one error makes it invalid.
  set(want_rc 0)
  if(want MATCHES ": error ")
    set(want_rc 1)
  endif()
  if(NOT rc EQUAL want_rc)
    message(FATAL_ERROR "exit code ${rc}, expected ${want_rc}")
  endif()
  file(REMOVE_RECURSE ${WORK})
  message(STATUS "${n} setting(s) changed; diagnostics as expected, exit ${rc}")
  return()
endif()

add_executable(test_validate ${PROJECT_SOURCE_DIR}/tests/test_validate.c)
target_link_libraries(test_validate PRIVATE ipforms_core)
add_test(NAME validate.unit COMMAND test_validate ${PROJECT_SOURCE_DIR})

add_test(NAME validate.rule-coverage
         COMMAND ${CMAKE_COMMAND} -DCOVERAGE=${PROJECT_SOURCE_DIR} -P ${CMAKE_CURRENT_LIST_FILE})

file(GLOB_RECURSE IPF_SETTINGS_SAMPLES CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/samples/invalid/*.settings)
foreach(settings ${IPF_SETTINGS_SAMPLES})
  string(REGEX REPLACE "\\.settings$" "" stem ${settings})
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR}/samples/invalid ${stem})
  string(REPLACE "/" "." tname ${rel})
  add_test(NAME golden-settings.${tname}
           COMMAND ${CMAKE_COMMAND} -DIPF=$<TARGET_FILE:ipforms> -DREPO=${PROJECT_SOURCE_DIR}
                   -DSAMPLE=${stem}.xml -DWORK=${CMAKE_CURRENT_BINARY_DIR}/settings/${tname}
                   -P ${CMAKE_CURRENT_LIST_FILE})
endforeach()
