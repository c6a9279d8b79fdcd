# ipforms init: skeletons generated from each form's schema and rule settings
# (src/skeleton.c), checked for every form the catalogue lists.
add_test(NAME skeleton.every-form
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/skeleton_checks.py
                 $<TARGET_FILE:ipforms> ${CMAKE_SOURCE_DIR})
