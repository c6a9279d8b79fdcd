# End-to-end tests through the ipforms command and poppler's tools.
set(IPF_CHECKS ${CMAKE_SOURCE_DIR}/tests/render_checks.py)
set(IPF_REPO ${CMAKE_SOURCE_DIR})

# Render tests are data: every form with samples/<form>/MANIFEST (page
# counts of each sample and of the blank form, title, strings that must
# appear; tests/render_checks.py explains the keys) gets, for each sample, a
# render test (pages, title, fonts, the labels and the data's values in the
# order the form's own template prints them, line edges) and a determinism
# test, and a blank-form test.  Adding a form adds files under templates/ and
# samples/ only; manifest.every-form fails for a form without a manifest.
file(GLOB IPF_MANIFESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/samples/*/MANIFEST)
foreach(manifest ${IPF_MANIFESTS})
  get_filename_component(dir ${manifest} DIRECTORY)
  get_filename_component(form ${dir} NAME)
  file(GLOB samples CONFIGURE_DEPENDS ${dir}/*.xml)
  foreach(sample ${samples})
    get_filename_component(name ${sample} NAME_WE)
    add_test(NAME render.${form}.${name}
             COMMAND ${IPF_CHECKS} render $<TARGET_FILE:ipforms> ${IPF_REPO} ${sample})
    add_test(NAME deterministic.${form}.${name}
             COMMAND ${IPF_CHECKS} deterministic $<TARGET_FILE:ipforms> ${IPF_REPO} ${sample})
    set_tests_properties(render.${form}.${name} PROPERTIES SKIP_RETURN_CODE 77)
  endforeach()
  add_test(NAME blank.${form}
           COMMAND ${IPF_CHECKS} blank $<TARGET_FILE:ipforms> ${IPF_REPO} ${form})
  set_tests_properties(blank.${form} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
# Forms are data: no file under src/ names a jurisdiction, a form's title,
# issuer, label, cited document or rule code, or words a limit as a form does.
add_test(NAME src.no-form-words
         COMMAND ${IPF_CHECKS} src-neutral $<TARGET_FILE:ipforms> ${IPF_REPO})
set_tests_properties(src.no-form-words PROPERTIES SKIP_RETURN_CODE 77)
# One source for every limit: a number setting a template prints, changed in
# a copy of rules.xml, is what the blank form then shows (every form).
add_test(NAME settings.printed-limits-follow
         COMMAND ${IPF_CHECKS} limits $<TARGET_FILE:ipforms> ${IPF_REPO})
set_tests_properties(settings.printed-limits-follow PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME manifest.every-form
         COMMAND ${IPF_CHECKS} manifests $<TARGET_FILE:ipforms> ${IPF_REPO})

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
# keep-with-next: a Beijing team member's details row and 简介 row on one
# page, in the sample and in a document built to split them without it.
add_test(NAME layout.keep-with-next
         COMMAND ${IPF_CHECKS} keep-with-next $<TARGET_FILE:ipforms> ${IPF_REPO}
                 ${CMAKE_SOURCE_DIR}/samples/beijing-application/yongding-information-institute.xml
                 ${CMAKE_SOURCE_DIR}/tests/data/keep-with-next/beijing-team.xml)
set_tests_properties(layout.keep-with-next PROPERTIES SKIP_RETURN_CODE 77)
