# The sap profile's trust stores, key stores and API providers (issue 6).
gatecert_sim_test(test_sim_sap)
target_link_libraries(test_sim_sap PRIVATE PkgConfig::LIBZIP) # builds hostile key store JARs
