# bench_sim: start-to-READY of gatecert-sim and proxied requests/s through it
# (prints figures only). Included from tests/CMakeLists.txt when present.
# Links no cmocka: sim_fixture.c and backend_support.c (built on the harness's
# supervisor) report failures through st_error()/bs_error(); support.c and
# backend_fixture.c, which use cmocka, stay out.
add_executable(bench_sim bench_sim.c sim_fixture.c backend_support.c)
target_link_libraries(bench_sim PRIVATE gatecert_certs gatecert_supervisor PkgConfig::LIBCURL
                      PkgConfig::JANSSON)
add_dependencies(bench_sim gatecert-backend gatecert-sim)
add_test(NAME bench_sim COMMAND bench_sim)
set_tests_properties(bench_sim PROPERTIES
  LABELS bench
  TIMEOUT 300
  ENVIRONMENT "GATECERT_TMP=${CMAKE_CURRENT_BINARY_DIR}/scratch/bench_sim;GATECERT_SIM_BIN=$<TARGET_FILE:gatecert-sim>;GATECERT_BACKEND_BIN=$<TARGET_FILE:gatecert-backend>;GATECERT_FAKETIME_LIB=${FAKETIME_LIB}")
