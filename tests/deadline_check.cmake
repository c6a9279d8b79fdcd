# NAT-DEADLINE (templates/national-filing/rules.xml) compares the cover's
# 填报日期 with the setting submission-deadline, which is empty — unchecked —
# in the shipped rules.  An office sets it in its own copy of the templates;
# this does exactly that and checks what the clerk then sees.
#
#   cmake -DIPFORMS=… -DREPO=… -DWORK=… -P deadline_check.cmake
#
# Asserts: with the deadline 2024-08-30 a filing dated 2024-09-10 gets the
# exact warning line and exit 0 (a warning does not make the filing invalid);
# a filing dated on the deadline gets nothing; the shipped rules (empty
# deadline) say nothing about the late filing.
foreach(v IPFORMS REPO WORK)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "deadline_check.cmake: -D${v}=… missing")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
file(COPY "${REPO}/templates" DESTINATION "${WORK}")

set(rules "${WORK}/templates/national-filing/rules.xml")
file(READ "${rules}" text)
set(empty_setting "<setting name=\"submission-deadline\" value=\"\"/>")
string(FIND "${text}" "${empty_setting}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "FAIL: ${rules} has no empty submission-deadline setting to fill in")
endif()
string(REPLACE "${empty_setting}" "<setting name=\"submission-deadline\" value=\"2024-08-30\"/>"
       text "${text}")
file(WRITE "${rules}" "${text}")

# The realistic sample, dated after (late-filing.xml) and on (on-time.xml) the deadline.
file(READ "${REPO}/samples/national-filing/chongqing-university-library.xml" sample)
string(FIND "${sample}" "<date>2024-08-26</date>" at)
if(at EQUAL -1)
  message(FATAL_ERROR "FAIL: the sample's 填报日期 is no longer 2024-08-26; update this test")
endif()
string(REPLACE "<date>2024-08-26</date>" "<date>2024-09-10</date>" late "${sample}")
string(REPLACE "<date>2024-08-26</date>" "<date>2024-08-30</date>" ontime "${sample}")
file(WRITE "${WORK}/late-filing.xml" "${late}")
file(WRITE "${WORK}/on-time.xml" "${ontime}")

function(run_validate templates file rc_var err_var)
  execute_process(COMMAND "${IPFORMS}" validate --templates "${templates}" "${file}"
                  WORKING_DIRECTORY "${WORK}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${rc_var} "${rc}" PARENT_SCOPE)
  set(${err_var} "${err}" PARENT_SCOPE)
endfunction()

set(failed 0)

run_validate("${WORK}/templates" late-filing.xml rc err)
set(want "late-filing.xml:8: warning NAT-DEADLINE 填报日期 2024-09-10 晚于本轮备案材料的截止日期 2024-08-30，逾期提交的备案材料原则上不予审核推荐（依据《重庆市知识产权局办公室关于组织开展2024年度国家知识产权信息公共服务网点备案工作的通知》二（二））\n")
if(NOT rc STREQUAL "0")
  message(SEND_ERROR "FAIL: late filing: exit ${rc}, expected 0 (a warning only)")
  set(failed 1)
endif()
if(NOT err STREQUAL want)
  message(SEND_ERROR "FAIL: late filing: diagnostics differ\n--- expected\n${want}--- got\n${err}")
  set(failed 1)
endif()

run_validate("${WORK}/templates" on-time.xml rc err)
if(NOT rc STREQUAL "0" OR NOT err STREQUAL "")
  message(SEND_ERROR "FAIL: filing dated on the deadline: exit ${rc}, expected 0 and no diagnostic; got\n${err}")
  set(failed 1)
endif()

run_validate("${REPO}/templates" late-filing.xml rc err)
if(NOT rc STREQUAL "0" OR NOT err STREQUAL "")
  message(SEND_ERROR "FAIL: shipped rules (empty deadline): exit ${rc}, expected 0 and no diagnostic; got\n${err}")
  set(failed 1)
endif()

if(failed)
  message(FATAL_ERROR "validate.deadline failed")
endif()
file(REMOVE_RECURSE "${WORK}")
