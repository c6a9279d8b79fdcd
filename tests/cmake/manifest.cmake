# Render tests as data: every samples/<form>/*.manifest (tests/manifest_checks.py).
file(GLOB IPF_MANIFESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/samples/*/*.manifest)
foreach(manifest ${IPF_MANIFESTS})
  file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR}/samples ${manifest})
  string(REGEX REPLACE "\\.manifest$" "" tname ${rel})
  string(REPLACE "/" "." tname ${tname})
  add_test(NAME manifest.${tname}
           COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/manifest_checks.py
                   $<TARGET_FILE:ipforms> ${CMAKE_SOURCE_DIR} ${manifest})
endforeach()
