#include "actors/rule/rule_actor.hpp"

#include <caf/all.hpp>

#include "actors/common/processing_time.hpp"

namespace rtmon {

namespace {

// Several matching events in one update: the strongest change wins (firing over repeat), with
// the latest value.
alert_change merge(alert_change a, const alert_change& b) {
  if (b.kind == alert_change::none) return a;
  if (a.kind == alert_change::firing) {
    a.value = b.value;
    a.at_ms = b.at_ms;
    return a;
  }
  return b;
}

}  // namespace

rule_actor::behavior_type rule_actor_fn(rule_actor::stateful_pointer<rule_actor_state> self,
                                        rule_set_ptr rules, const rule_spec* spec,
                                        rule_restore restore) {
  auto& st = self->state;
  st.rules = std::move(rules);
  st.spec = spec;
  st.logic = std::make_unique<rule_state>(*spec);
  if (restore.state != alert_state::inactive) {
    st.logic->restore(restore.state, restore.since_ms, restore.value);
    st.last_event_ms = restore.since_ms;
  }
  st.last_input_proc_ms = processing_ms(self);
  return {
      [=](atom::evaluate, const rule_input& in) {
        auto& st = self->state;
        st.last_event_ms = std::max(st.last_event_ms, in.now_ms);
        st.last_input_proc_ms = processing_ms(self);
        if (in.kind == rule_input::events) {
          alert_change out;
          out.at_ms = in.now_ms;
          for (uint32_t i = 0; i < in.matches; ++i)
            out = merge(out, st.logic->on_event(true, in.now_ms));
          return out;
        }
        return st.logic->evaluate(in.value, in.sufficient, in.now_ms);
      },
      [=](atom::advance, int64_t proc_ms) {
        auto& st = self->state;
        if (st.spec->kind == rule_kind::absence) return st.logic->advance(proc_ms);
        // Event time now = the last input's event time + the processing time since it.
        auto event_now = st.last_event_ms + (proc_ms - st.last_input_proc_ms);
        return st.logic->advance(event_now);
      },
      [=](atom::seen, int64_t proc_ms) { return self->state.logic->saw_data(proc_ms); },
  };
}

}  // namespace rtmon
