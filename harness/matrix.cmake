# matrix.cmake - included (OPTIONAL) at the end of harness/CMakeLists.txt:
# the conformance matrix (`gatecert matrix`, matrix.c), the known-failures
# list (known.c, which `gatecert run --known-failures` uses), their unit
# tests, and the benchmark of the real gateways against the simulator.

# The known-failures list: a library of its own so the runner can link it.
add_library(gatecert_known STATIC known.c)
target_include_directories(gatecert_known PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(gatecert_known PUBLIC gatecert_report)
if(TARGET gatecert_runner)
  target_link_libraries(gatecert_runner PUBLIC gatecert_known)
  target_compile_definitions(gatecert_runner PRIVATE GATECERT_HAVE_KNOWN=1)
endif()

# The matrix: loading conformance.json, building, rendering, the command.
add_library(gatecert_matrix STATIC matrix.c)
target_include_directories(gatecert_matrix PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(gatecert_matrix PUBLIC gatecert_report PkgConfig::JANSSON)
target_link_libraries(gatecert PRIVATE gatecert_matrix)
target_compile_definitions(gatecert PRIVATE GATECERT_HAVE_MATRIX=1)

# Unit tests (cmocka), defined here for the reason report.cmake gives.
if(NOT TARGET PkgConfig::CMOCKA)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()
add_executable(test_matrix ${PROJECT_SOURCE_DIR}/tests/test_matrix.c
                           ${PROJECT_SOURCE_DIR}/tests/support.c)
target_link_libraries(test_matrix PRIVATE gatecert_matrix gatecert_known gatecert_report
                      gatecert_certs PkgConfig::CMOCKA PkgConfig::JANSSON)
add_test(NAME test_matrix COMMAND test_matrix)
set_tests_properties(test_matrix PROPERTIES
  LABELS "unit;report;matrix"
  TIMEOUT 60
  ENVIRONMENT "GATECERT_FIXTURES=${PROJECT_SOURCE_DIR}/fixtures;GATECERT_TMP=${CMAKE_BINARY_DIR}/tests/scratch/test_matrix")

# The benchmark (`make bench`): the same scenarios run with the simulator,
# nginx and HAProxy; per driver, real time per case and apply latency. Prints
# figures, asserts none; fails only when a run could not be made. A driver
# whose program is missing is skipped with a message. GATECERT_BENCH_DRIVERS
# (e.g. "sim") narrows the drivers, GATECERT_BENCH_SCENARIOS the scenario set.
# gatecert-sim and gatecert-backend are defined after harness/: generator
# expressions and add_dependencies resolve them at generation time.
if(TARGET gatecert_runner)
  add_executable(bench_gateways ${PROJECT_SOURCE_DIR}/tests/bench_gateways.c)
  target_link_libraries(bench_gateways PRIVATE gatecert_matrix)
  add_dependencies(bench_gateways gatecert gatecert-sim gatecert-backend)
  add_test(NAME bench_gateways COMMAND bench_gateways)
  set_tests_properties(bench_gateways PROPERTIES
    LABELS bench
    TIMEOUT 3600
    RUN_SERIAL TRUE
    ENVIRONMENT "GATECERT_BIN=$<TARGET_FILE:gatecert>;GATECERT_SIM_BIN=$<TARGET_FILE:gatecert-sim>;GATECERT_BACKEND_BIN=$<TARGET_FILE:gatecert-backend>;GATECERT_SCENARIOS=${PROJECT_SOURCE_DIR}/scenarios;GATECERT_TMP=${CMAKE_BINARY_DIR}/tests/scratch/bench_gateways")
endif()
