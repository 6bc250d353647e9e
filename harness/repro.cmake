# repro.cmake - `gatecert repro CASE` (repro.c, public header repro.h): prints a
# standalone bash script that reproduces one scenario case without the harness.
# Included from harness/CMakeLists.txt once gatecert_runner exists.
target_sources(gatecert_runner PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/repro.c)

# The scripts it prints run: four catalogue cases (a reload matrix row, the
# upload-then-tick case, backend mTLS, the upload validation rows) reproduce with
# every expectation holding, a broken simulator shows MISMATCH lines, nothing
# is left running, and an unknown case exits 2 with candidates.
add_test(NAME harness_repro
  COMMAND bash ${PROJECT_SOURCE_DIR}/tests/test_repro.sh
          $<TARGET_FILE:gatecert> $<TARGET_FILE:gatecert-sim> $<TARGET_FILE:gatecert-backend>
          ${PROJECT_SOURCE_DIR}/scenarios ${CMAKE_BINARY_DIR}/tests/scratch/repro)
set_tests_properties(harness_repro PROPERTIES LABELS "scenario;repro" TIMEOUT 300)
