# gatecert-introspect (simulator/introspect.c, issue 7): test_introspect
# starts the real process on a fake clock, writes its config atomically and
# calls /check with libcurl (tokens, the chain table, config reloads, the
# fake clock, start failures).
#
# Self-contained so that it can be included from simulator/CMakeLists.txt
# (which does so, after gatecert-introspect) or from tests/CMakeLists.txt;
# include_guard makes the second include a no-op.
include_guard(GLOBAL)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

set(introspect_tests ${PROJECT_SOURCE_DIR}/tests)
add_executable(test_introspect ${introspect_tests}/test_introspect.c
               ${introspect_tests}/backend_support.c ${introspect_tests}/support.c)
target_include_directories(test_introspect PRIVATE ${introspect_tests})
target_link_libraries(test_introspect PRIVATE gatecert_sim_core gatecert_jwt gatecert_certs
                      gatecert_supervisor PkgConfig::CMOCKA PkgConfig::LIBCURL
                      PkgConfig::JANSSON)
add_dependencies(test_introspect gatecert-introspect)
add_test(NAME test_introspect COMMAND test_introspect)
set_tests_properties(test_introspect PROPERTIES
  LABELS "unit;sim"
  TIMEOUT 120
  ENVIRONMENT "GATECERT_TMP=${PROJECT_BINARY_DIR}/tests/scratch/test_introspect;GATECERT_INTROSPECT_BIN=$<TARGET_FILE:gatecert-introspect>;GATECERT_FAKETIME_LIB=${FAKETIME_LIB}")
