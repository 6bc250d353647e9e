# exec.cmake - included from harness/CMakeLists.txt: the `exec` driver
# (drivers/exec.c, protocol in drivers/EXEC.md) and its tests. The reference
# program scripts/exec-driver-sim.sh drives gatecert-sim with bash and curl.
target_sources(gatecert_runner PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/drivers/exec.c)

# catalogue: the whole catalogue through the reference program passes exactly
#   the cases the sim driver passes;
# unsupported: a program answering 89 to upload-cert gets those cases skipped
#   (reason naming the verb), a capability it leaves out skips its cases;
# broken: programs that exit 3, print garbage, print too much, speak another
#   protocol or hang are harness errors (exit 3) and leave no process behind.
foreach(mode catalogue unsupported broken)
  add_test(NAME exec_driver_${mode}
    COMMAND bash ${PROJECT_SOURCE_DIR}/tests/test_exec_driver.sh ${mode}
            $<TARGET_FILE:gatecert> $<TARGET_FILE:gatecert-sim> $<TARGET_FILE:gatecert-backend>
            ${PROJECT_SOURCE_DIR}/scenarios ${PROJECT_SOURCE_DIR}/scripts/exec-driver-sim.sh
            ${CMAKE_BINARY_DIR}/tests/scratch/exec_driver_${mode})
  set_tests_properties(exec_driver_${mode} PROPERTIES LABELS "scenario;exec" TIMEOUT 900)
endforeach()
