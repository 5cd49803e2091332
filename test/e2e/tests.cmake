# Browser end-to-end tests: playwright-core driving Debian's Chromium (/usr/bin/chromium, from
# infra/deps.sh; a browser is never downloaded) against a hub on the test stack. Included from
# test/CMakeLists.txt. Needs node + npm (the test builds the UI with infra/ui.sh and installs
# test/e2e's own node_modules with npm ci).
file(GLOB RTMON_E2E_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.py)
foreach(py ${RTMON_E2E_TESTS})
  get_filename_component(name ${py} NAME_WE)
  string(REGEX REPLACE "^test_" "" name ${name})
  add_test(NAME e2e.${name}
    COMMAND ${RTMON_PYTHON} -m pytest -q -p no:cacheprovider
      --junitxml=${CMAKE_BINARY_DIR}/test-artifacts/e2e-${name}.xml ${py}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e.${name} PROPERTIES FIXTURES_REQUIRED stack
    LABELS e2e TIMEOUT 900 RUN_SERIAL TRUE
    ENVIRONMENT "RTMON_BIN=$<TARGET_FILE:rtmon>;RTMON_TEST_ARTIFACTS=${CMAKE_BINARY_DIR}/test-artifacts")
endforeach()

# The UI's own unit tests (vitest: stream resume, list merging, time formatting, filters).
add_test(NAME unit.ui COMMAND bash ${PROJECT_SOURCE_DIR}/infra/ui.sh test
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(unit.ui PROPERTIES LABELS unit TIMEOUT 600)
