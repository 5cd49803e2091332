# Notification channel adapters (system/notify/send.hpp) against local receivers: the probe
# binary the integration test test/integration/test_notify_channels.py drives.
add_executable(rtmon-notify-probe ${CMAKE_CURRENT_LIST_DIR}/probe.cpp)
target_link_libraries(rtmon-notify-probe PRIVATE rtmon_core)
target_compile_options(rtmon-notify-probe PRIVATE -Wall -Wextra)

if(TEST integration.notify_channels)
  # Tell the test where the probe is, and drop the Kafka/Postgres fixture it does not use.
  set_property(TEST integration.notify_channels APPEND PROPERTY ENVIRONMENT
    "RTMON_NOTIFY_PROBE=$<TARGET_FILE:rtmon-notify-probe>")
  set_property(TEST integration.notify_channels PROPERTY FIXTURES_REQUIRED "")
endif()
