#pragma once

#include <deque>
#include <map>
#include <string>

#include "messages/actors.hpp"

namespace rtmon {

struct live_stream_state {
  std::vector<caf::actor> subscribers;
  std::deque<std::string> backlog;  // the latest messages, oldest first
  size_t max_backlog = 1000;
  static inline const char* name = "live-stream";
};

/// LIVE STREAM (messages/actors.hpp): the hook the UI's WebSocket stream attaches to.
live_stream_actor::behavior_type live_stream(
    live_stream_actor::stateful_pointer<live_stream_state> self, size_t max_backlog);

}  // namespace rtmon
