# supervisor.cmake - gatecert_supervisor: starting, watching and stopping the
# processes of a case (supervisor.h). Used by the harness and by the test
# support code (tests/backend_support.c).
add_library(gatecert_supervisor STATIC ${CMAKE_CURRENT_LIST_DIR}/supervisor.c)
target_include_directories(gatecert_supervisor PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
