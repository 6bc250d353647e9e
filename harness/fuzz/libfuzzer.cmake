# libfuzzer.cmake: the libFuzzer target fuzz_yaml and its test (see
# CMakeLists.txt here). Included at the end of the project's configuration
# (deferred), so paths are spelt from this file's directory.
find_program(GATECERT_CLANG NAMES clang clang-14)
if(NOT GATECERT_CLANG OR NOT GATECERT_LIBFUZZER_WORKS
   OR NOT EXISTS ${PROJECT_SOURCE_DIR}/simulator/fuzz/run-fuzz.sh)
  message(STATUS "fuzz_yaml: no clang with libFuzzer; only fuzz_yaml_replay is built")
  return()
endif()

pkg_check_modules(LIBYAML REQUIRED yaml-0.1)
set(fuzzer ${CMAKE_BINARY_DIR}/harness/fuzz/fuzz_yaml)
set(harness ${CMAKE_CURRENT_LIST_DIR}/..)
add_custom_command(OUTPUT ${fuzzer}
  COMMAND ${GATECERT_CLANG} -std=c17 -D_GNU_SOURCE -g -O1
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
          -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla ${LIBYAML_CFLAGS}
          -I${harness} ${CMAKE_CURRENT_LIST_DIR}/fuzz_yaml.c ${harness}/yaml_reader.c
          ${LIBYAML_LDFLAGS} -o ${fuzzer}
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/fuzz_yaml.c ${harness}/yaml_reader.c ${harness}/yaml_reader.h
  COMMENT "Building libFuzzer target fuzz_yaml with ${GATECERT_CLANG}"
  VERBATIM)
add_custom_target(fuzz_yaml ALL DEPENDS ${fuzzer})

# run-fuzz.sh passes simulator/fuzz's dictionary first; the -dict given after
# it is the one libFuzzer keeps.
add_test(NAME fuzz_yaml
  COMMAND bash ${PROJECT_SOURCE_DIR}/simulator/fuzz/run-fuzz.sh ${fuzzer}
          ${CMAKE_CURRENT_LIST_DIR}/seeds ${CMAKE_BINARY_DIR}/harness/fuzz/scratch 20
          -dict=${CMAKE_CURRENT_LIST_DIR}/yaml.dict)
set_tests_properties(fuzz_yaml PROPERTIES LABELS fuzz TIMEOUT 120)
