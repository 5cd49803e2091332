// Include last in every test file: CAF's DSL defines lowercase macros (caf-0.17.md §12.1).
#pragma once

#include <caf/all.hpp>

#define FAIL(msg) CAF_FAIL(msg)  // 0.17.6's fixture request<T>() needs it
#include <caf/test/dsl.hpp>
