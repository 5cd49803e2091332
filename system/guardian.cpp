#include "system/guardian.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

namespace rtmon {

caf::behavior guardian(caf::stateful_actor<guardian_state>* self,
                       std::vector<std::pair<std::string, caf::actor>> components,
                       std::function<void(const std::string&)> on_failure) {
  self->state.components = std::move(components);
  self->state.on_failure = std::move(on_failure);
  for (auto& c : self->state.components) self->monitor(c.second);
  self->set_down_handler([=](const caf::down_msg& dm) {
    for (auto& c : self->state.components)
      if (dm.source == c.second) {
        if (dm.reason && dm.reason != caf::exit_reason::user_shutdown) {
          auto what = c.first + " died: " + self->system().render(dm.reason);
          spdlog::critical("guardian: {}; shutting down", what);
          if (self->state.on_failure) self->state.on_failure(what);
        }
      }
  });
  self->set_exit_handler([=](caf::exit_msg& em) {
    for (auto& c : self->state.components) self->send_exit(c.second, em.reason);
    self->quit(em.reason);
  });
  return {
      [](caf::get_atom) { return true; },  // liveness probe for tests
  };
}

}  // namespace rtmon
