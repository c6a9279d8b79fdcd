# Proof that forms are data (issue 7): an imaginary province made from the
# Inner Mongolia form by copying files into a temporary --templates directory.
add_test(NAME forms.imaginary-province
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/province_checks.py
                 $<TARGET_FILE:ipforms> ${CMAKE_SOURCE_DIR})
