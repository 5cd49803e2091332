#include "actors/stream/live_stream.hpp"

#include <algorithm>

#include <caf/all.hpp>

namespace rtmon {

live_stream_actor::behavior_type live_stream(
    live_stream_actor::stateful_pointer<live_stream_state> self, size_t max_backlog) {
  self->state.max_backlog = max_backlog;
  // A subscriber that goes away is forgotten.
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const caf::actor& a) { return a.address() == dm.source; }),
               subs.end());
  });
  return {
      [=](atom::publish, const std::string& channel, const std::string& json) {
        auto& st = self->state;
        st.backlog.push_back(json);
        while (st.backlog.size() > st.max_backlog) st.backlog.pop_front();
        for (const auto& s : st.subscribers) caf::anon_send(s, atom::live_v, channel, json);
      },
      [=](caf::subscribe_atom, const caf::actor& who) {
        self->monitor(who);
        self->state.subscribers.push_back(who);
      },
      [=](caf::leave_atom, const caf::actor& who) {
        auto& subs = self->state.subscribers;
        subs.erase(std::remove(subs.begin(), subs.end(), who), subs.end());
      },
      [=](atom::recent) {
        auto& b = self->state.backlog;
        return std::vector<std::string>(b.begin(), b.end());
      },
  };
}

}  // namespace rtmon
