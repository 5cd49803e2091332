// The only translation unit with CAF's test engine and main.
#define CAF_SUITE rtmon_main
#include <caf/test/unit_test_impl.hpp>
