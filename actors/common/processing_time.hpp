// Processing time for actors: Unix milliseconds that advance with the actor clock. In
// production that clock is steady_clock, so this is the wall clock minus any later jumps; under
// the test coordinator it moves only with advance_time, so timers and absence rules are
// deterministic in tests.
#pragma once

#include <chrono>
#include <cstdint>

#include <caf/actor_clock.hpp>
#include <caf/local_actor.hpp>

namespace rtmon {

inline int64_t processing_ms(caf::local_actor* self) {
  using namespace std::chrono;
  static const int64_t offset =
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() -
      duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
  return offset + duration_cast<milliseconds>(self->clock().now().time_since_epoch()).count();
}

}  // namespace rtmon
