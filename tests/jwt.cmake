# jwt/: compact JWS (RS256, ES256) round trips and refusals, and `gatecert
# token` run as a user would (GATECERT_BIN).
gatecert_unit_test(test_jwt)
target_link_libraries(test_jwt PRIVATE gatecert_jwt)
add_dependencies(test_jwt gatecert)
