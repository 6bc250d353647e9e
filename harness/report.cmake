# report.cmake - included from harness/CMakeLists.txt: the report library
# (console lines, junit.xml, conformance.json; see report.h) and its unit test.
add_library(gatecert_report STATIC report.c)
target_include_directories(gatecert_report PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(gatecert_report PRIVATE PkgConfig::LIBXML2 PkgConfig::JANSSON m)

# The test is defined here rather than in tests/CMakeLists.txt, which is
# processed after harness/; it needs cmocka's target before that file makes it.
if(NOT TARGET PkgConfig::CMOCKA)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()
add_executable(test_report ${PROJECT_SOURCE_DIR}/tests/test_report.c
                           ${PROJECT_SOURCE_DIR}/tests/support.c)
target_link_libraries(test_report PRIVATE gatecert_report gatecert_certs PkgConfig::CMOCKA
                      PkgConfig::LIBXML2 PkgConfig::JANSSON)
add_test(NAME test_report COMMAND test_report)
# The JUnit schemas are committed copies (fixtures/schemas/README.md): CI runs
# on a clone of this repository alone.
set_tests_properties(test_report PROPERTIES
  LABELS "unit;report"
  TIMEOUT 60
  ENVIRONMENT "GATECERT_FIXTURES=${PROJECT_SOURCE_DIR}/fixtures;GATECERT_TMP=${CMAKE_BINARY_DIR}/tests/scratch/test_report;GATECERT_SCHEMAS=${PROJECT_SOURCE_DIR}/fixtures/schemas")
