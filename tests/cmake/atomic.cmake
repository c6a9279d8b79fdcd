# Atomic writes (src/atomic.c): signals held back while a temporary file
# exists, names near the file system's limit, the sweep of stale files.
add_executable(test_atomic ${CMAKE_SOURCE_DIR}/tests/test_atomic.c)
find_package(Threads REQUIRED)
target_link_libraries(test_atomic PRIVATE ipforms_core Threads::Threads)
add_test(NAME atomic.signals-and-names COMMAND test_atomic)
set_tests_properties(atomic.signals-and-names PROPERTIES TIMEOUT 120)
