# scenario.cmake: the scenario loader (scenario.c, public header scenario.h)
# and its unit test. Included from harness/CMakeLists.txt; the test lives here
# because tests/ is processed after harness/ and this file owns its wiring.
if(NOT TARGET PkgConfig::LIBYAML)
  pkg_check_modules(LIBYAML REQUIRED IMPORTED_TARGET yaml-0.1)
endif()

add_library(gatecert_scenario STATIC ${CMAKE_CURRENT_SOURCE_DIR}/scenario.c
                                      ${CMAKE_CURRENT_SOURCE_DIR}/profile.c)
target_include_directories(gatecert_scenario PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(gatecert_scenario PUBLIC gatecert_certs PRIVATE PkgConfig::LIBYAML)

if(NOT TARGET PkgConfig::CMOCKA)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

add_executable(test_scenario ${PROJECT_SOURCE_DIR}/tests/test_scenario.c
                             ${PROJECT_SOURCE_DIR}/tests/support.c)
target_include_directories(test_scenario PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(test_scenario PRIVATE gatecert_scenario gatecert_certs PkgConfig::CMOCKA)
add_test(NAME test_scenario COMMAND test_scenario)
set_tests_properties(test_scenario PROPERTIES
  LABELS "unit;scenario-loader"
  TIMEOUT 60
  ENVIRONMENT "GATECERT_FIXTURES=${PROJECT_SOURCE_DIR}/fixtures;GATECERT_TMP=${CMAKE_BINARY_DIR}/tests/scratch/test_scenario")
