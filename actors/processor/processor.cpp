#include "actors/processor/processor.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

namespace rtmon {

namespace {

using self_ptr = processor_actor::stateful_pointer<processor_state>;

aggregator_actor aggregator_of(self_ptr self, const std::string& service) {
  auto& st = self->state;
  if (auto i = st.aggregators.find(service); i != st.aggregators.end()) return i->second;
  auto child =
      self->spawn<caf::monitored>(aggregator, service, st.rules, st.store, st.opts, st.metrics);
  st.aggregators[service] = child;
  st.by_addr[child.address()] = service;
  return child;
}

}  // namespace

processor_actor::behavior_type processor(self_ptr self, int32_t partition, rule_set_ptr rules,
                                         incident_store_actor store, processing_options opts,
                                         metrics_registry* metrics) {
  auto& st = self->state;
  st.partition = partition;
  st.rules = std::move(rules);
  st.store = std::move(store);
  st.opts = std::move(opts);
  st.metrics = metrics;
  // An aggregator's state cannot be rebuilt in place (its windows hold data that is already
  // past its offsets): a crash takes the processor down, and the shard restarts the partition
  // group from the durable offsets with a warm-up replay.
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.by_addr.find(dm.source);
    if (i == st.by_addr.end()) return;
    auto service = i->second;
    st.by_addr.erase(i);
    st.aggregators.erase(service);
    if (dm.reason && dm.reason != caf::exit_reason::user_shutdown) {
      spdlog::error("processor {}: aggregator {} crashed ({})", st.partition, service,
                    self->system().render(dm.reason));
      self->quit(dm.reason);
    }
  });
  self->set_exit_handler([=](caf::exit_msg& em) {
    for (auto& kv : self->state.aggregators) self->send_exit(kv.second, em.reason);
    self->quit(em.reason);
  });
  return {
      [=](atom::observe, const store_batch_ptr& rows, bool warmup) -> caf::result<uint64_t> {
        auto& st = self->state;
        if (st.opts.source) st.rules = st.opts.source->current();
        auto parts = split_by_service(rows, warmup, st.rules);
        if (parts.empty()) return uint64_t{0};
        auto rp = self->make_response_promise<uint64_t>();
        auto left = std::make_shared<size_t>(parts.size());
        auto total = std::make_shared<uint64_t>(0);
        for (const auto& sb : parts) {
          self->request(aggregator_of(self, sb->service), caf::infinite, atom::observe_v, sb)
              .then(
                  [=](uint64_t n) mutable {
                    *total += n;
                    if (--*left == 0) rp.deliver(*total);
                  },
                  [=](caf::error& err) mutable {
                    // The aggregator died: the processor goes down with it (down handler).
                    if (--*left == 0) rp.deliver(std::move(err));
                  });
        }
        return rp;
      },
      [=](atom::status) {
        std::vector<std::string> out;
        for (const auto& kv : self->state.aggregators) out.push_back(kv.first);
        return out;
      },
  };
}

}  // namespace rtmon
