# tests for tools/devsim (the device simulator); included from CMakeLists.txt here.
foreach(t psk pack scenario fleet core)
  aw_add_test(test_devsim_${t} SOURCES test_devsim_${t}.c LIBS aw_devsim_core TIMEOUT 60)
  target_compile_definitions(test_devsim_${t} PRIVATE AW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endforeach()
# Runs the simulator end to end on loopback 127.0.7.21-24 (sensors against a
# tiny CoAP server in a child process; sirens against a libcoap client).
aw_add_test(test_devsim_run SOURCES test_devsim_run.c LIBS aw_devsim_core TIMEOUT 120)
target_compile_definitions(test_devsim_run PRIVATE AW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
