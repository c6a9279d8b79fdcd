# The template and rule-file language (docs/templates.md, docs/rules.md):
# extends, includes, and diagnostics naming the file where the text stands.
set(IPF_LANG ${CMAKE_SOURCE_DIR}/tests/lang_checks.py)
foreach(c extends-render extends-diagnostics duplicate-ids abstract rules-include features
          settings-in-template load-checks)
  add_test(NAME lang.${c} COMMAND ${IPF_LANG} ${c} $<TARGET_FILE:ipforms> ${CMAKE_SOURCE_DIR})
endforeach()
