# Issue 6, client to gateway mutual TLS (simulator/clientauth.c): the
# listener's verify modes, the two reload clocks, the client certificate admin
# API (through real gatecert-sim processes) and certificate matching (in
# process, hence gatecert_sim_core). Included from tests/CMakeLists.txt.
gatecert_sim_test(test_sim_client_mtls)
target_link_libraries(test_sim_client_mtls PRIVATE gatecert_sim_core)
