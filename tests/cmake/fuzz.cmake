# Fuzz targets (tests/fuzz/, docs/fuzzing.md).
#
# Every build: each target's sources linked with a plain main() that replays
# the checked-in seeds (tests/fuzz/corpus/<target>) and every input that ever
# crashed (tests/fuzz/regressions/<target>), so a fixed crash stays fixed in
# the ordinary and the sanitizer test runs alike.
#
# -DIPF_FUZZ=ON (clang): the same sources as libFuzzer binaries fuzz_<target>,
# linked against the library compiled again with the fuzzer's coverage
# instrumentation and ASan + UBSan.  tests/fuzz/run.sh builds and runs them.
set(IPF_FUZZ_TARGETS xml template linebreak layout csv)
set(IPF_FUZZ_DIR ${CMAKE_SOURCE_DIR}/tests/fuzz)

# Seeds that live elsewhere in the repository, replayed as they are now (a
# copy in the corpus would go stale): every sample for the data reader, every
# shipped template for the template loader.  The skeletons of `ipforms init`
# are generated, not stored: fuzz.replay.xml-skeletons generates every form's
# and replays them.  tests/fuzz/run.sh seeds its working corpora the same way.
file(GLOB IPF_FUZZ_SEEDS_xml CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/samples/*/*.xml
     ${CMAKE_SOURCE_DIR}/samples/invalid/*/*.xml)
file(GLOB IPF_FUZZ_SEEDS_template CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/templates/*/template.xml)

foreach(t ${IPF_FUZZ_TARGETS})
  add_executable(fuzz_replay_${t} ${IPF_FUZZ_DIR}/fuzz_${t}.c ${IPF_FUZZ_DIR}/replay_main.c)
  target_link_libraries(fuzz_replay_${t} PRIVATE ipforms_core)
  target_compile_definitions(fuzz_replay_${t} PRIVATE _POSIX_C_SOURCE=200809L
                             IPF_FUZZ_REPO="${CMAKE_SOURCE_DIR}")
  add_test(NAME fuzz.replay.${t}
           COMMAND fuzz_replay_${t} ${IPF_FUZZ_DIR}/corpus/${t} ${IPF_FUZZ_DIR}/regressions/${t}
                   ${IPF_FUZZ_SEEDS_${t}})
  set_tests_properties(fuzz.replay.${t} PROPERTIES TIMEOUT 600)
endforeach()
add_test(NAME fuzz.replay.xml-skeletons
         COMMAND sh ${IPF_FUZZ_DIR}/skeletons.sh $<TARGET_FILE:ipforms>
                 $<TARGET_FILE:fuzz_replay_xml>)
set_tests_properties(fuzz.replay.xml-skeletons PROPERTIES TIMEOUT 600)

if(IPF_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "IPF_FUZZ needs clang with libFuzzer (CC=clang); the compiler is "
                        "${CMAKE_C_COMPILER_ID}")
  endif()
  set(IPF_FUZZ_SAN -fsanitize=address,undefined -fno-sanitize-recover=undefined
                   -fno-omit-frame-pointer)
  # The library again, instrumented for coverage but without libFuzzer's main.
  # The layout target gets its own copy without comparison tracing
  # (trace-cmp): the typesetter compares per character, and those hooks were
  # half of its time; it finds its way by coverage and its dictionary
  # (docs/fuzzing.md).
  foreach(lib ipforms_fuzzcore ipforms_fuzzcore_layout)
    add_library(${lib} STATIC ${IPF_LIB_SOURCES})
    target_include_directories(${lib} PUBLIC ${CMAKE_SOURCE_DIR}/src
                               ${CMAKE_BINARY_DIR}/generated ${HPDF_INCLUDE_DIR})
    target_link_libraries(${lib} PUBLIC PkgConfig::XML2 PkgConfig::FT2 PkgConfig::ICU
                          ${HPDF_LIBRARY} PkgConfig::DEFLATE m)
    target_compile_definitions(${lib} PRIVATE _POSIX_C_SOURCE=200809L
      IPF_TEMPLATES_DIR="${CMAKE_SOURCE_DIR}/templates" IPF_FONTS_DIR="${CMAKE_SOURCE_DIR}/fonts")
  endforeach()
  target_compile_options(ipforms_fuzzcore PRIVATE -fsanitize=fuzzer-no-link ${IPF_FUZZ_SAN})
  target_compile_options(ipforms_fuzzcore_layout PRIVATE -fsanitize=fuzzer-no-link
                         -fno-sanitize-coverage=trace-cmp ${IPF_FUZZ_SAN})
  foreach(t ${IPF_FUZZ_TARGETS})
    add_executable(fuzz_${t} ${IPF_FUZZ_DIR}/fuzz_${t}.c)
    target_compile_options(fuzz_${t} PRIVATE -fsanitize=fuzzer ${IPF_FUZZ_SAN})
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer ${IPF_FUZZ_SAN})
    if(t STREQUAL "layout")
      # The target's own code too: its checks compare per item and per
      # character, and the hooks on them were a twentieth of its time.
      target_compile_options(fuzz_${t} PRIVATE -fno-sanitize-coverage=trace-cmp)
      target_link_libraries(fuzz_${t} PRIVATE ipforms_fuzzcore_layout)
    else()
      target_link_libraries(fuzz_${t} PRIVATE ipforms_fuzzcore)
    endif()
    target_compile_definitions(fuzz_${t} PRIVATE _POSIX_C_SOURCE=200809L
                               IPF_FUZZ_REPO="${CMAKE_SOURCE_DIR}")
  endforeach()
endif()
