# The security chain, load balancer header mode and throttling (issue 6, part
# H3): end-to-end tests against gatecert-sim over real TLS. The chain's pure
# decision table and the throttle counters are unit-tested in test_sim_units.
foreach(t test_sim_security test_sim_lbheader test_sim_throttle)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c)
    gatecert_sim_test(${t})
    target_link_libraries(${t} PRIVATE gatecert_jwt)
  endif()
endforeach()
