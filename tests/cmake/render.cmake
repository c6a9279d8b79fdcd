# End-to-end tests through the ipforms command and poppler's tools.
set(IPF_CHECKS ${CMAKE_SOURCE_DIR}/tests/render_checks.py)
set(IPF_REPO ${CMAKE_SOURCE_DIR})

# Page counts looked at as PNG pages and then fixed here: a layout change that
# moves a page break shows up as a failure to be looked at again.
set(IPF_PAGES_chongqing-university-library 11)
set(IPF_PAGES_annotated 7)
set(IPF_PAGES_blank-national-filing 8)
file(GLOB IPF_NATIONAL_SAMPLES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/samples/national-filing/*.xml)
foreach(sample ${IPF_NATIONAL_SAMPLES})
  get_filename_component(name ${sample} NAME_WE)
  add_test(NAME render.national.${name}
           COMMAND ${IPF_CHECKS} render $<TARGET_FILE:ipforms> ${IPF_REPO} ${sample}
                   "${IPF_PAGES_${name}}")
  add_test(NAME deterministic.national.${name}
           COMMAND ${IPF_CHECKS} deterministic $<TARGET_FILE:ipforms> ${IPF_REPO} ${sample})
endforeach()
add_test(NAME blank.national-filing
         COMMAND ${IPF_CHECKS} blank $<TARGET_FILE:ipforms> ${IPF_REPO} national-filing
                 ${IPF_PAGES_blank-national-filing})

# Golden diagnostics: every invalid sample with its .expected file.
file(GLOB_RECURSE IPF_INVALID_SAMPLES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/samples/invalid/*.xml)
foreach(sample ${IPF_INVALID_SAMPLES})
  string(REGEX REPLACE "\\.xml$" ".expected" expected ${sample})
  string(REGEX REPLACE "\\.xml$" ".settings" settings ${sample})
  # X.settings: the expected output needs other rule settings (validate.cmake)
  if(EXISTS ${expected} AND NOT EXISTS ${settings})
    file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR}/samples/invalid ${sample})
    string(REPLACE "/" "." tname ${rel})
    add_test(NAME golden.${tname}
             COMMAND ${IPF_CHECKS} golden $<TARGET_FILE:ipforms> ${IPF_REPO} ${sample})
  endif()
endforeach()

add_test(NAME cli.editions
         COMMAND ${IPF_CHECKS} editions $<TARGET_FILE:ipforms> ${IPF_REPO} national-filing
                 ${CMAKE_SOURCE_DIR}/samples/national-filing/annotated.xml)
add_test(NAME cli.commands COMMAND ${IPF_CHECKS} cli $<TARGET_FILE:ipforms> ${IPF_REPO})
add_test(NAME cli.font-option
         COMMAND ${IPF_CHECKS} font $<TARGET_FILE:ipforms> ${IPF_REPO}
                 ${CMAKE_SOURCE_DIR}/samples/national-filing/chongqing-university-library.xml
                 /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf)
set_tests_properties(cli.font-option PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME layout.header-rows-repeat
         COMMAND ${IPF_CHECKS} header-rows $<TARGET_FILE:ipforms> ${IPF_REPO}
                 ${CMAKE_SOURCE_DIR}/tests/data/templates)
