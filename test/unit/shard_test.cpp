#define CAF_SUITE shard
#include "actors/shard/shard.hpp"
#include "actors/partition/partition.hpp"
#include "test/unit/fakes.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace std::chrono_literals;

namespace {

// Counts rows it was asked to store and acknowledges at once.
struct counting_store_state {
  size_t requests = 0;
  size_t rows = 0;
  static inline const char* name = "counting_store";
};

store_actor::behavior_type counting_store(
    store_actor::stateful_pointer<counting_store_state> self) {
  return {
      [=](atom::store, const store_batch_ptr& b) {
        self->state.requests++;
        self->state.rows += b->rows();
        return store_result{b->rows()};
      },
      [](caf::flush_atom) {},
      [](atom::maintain) {},
  };
}

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<test::recording_sink> sink = std::make_shared<test::recording_sink>();
  store_actor store;
  shard_actor sh;
  fixture() {
    store = sys.spawn(counting_store);
    sh = sys.spawn(shard, std::vector<store_actor>{store}, offset_sink_ptr{sink}, size_t{1000},
                   processing_setup_ptr{});
    sched.run();
  }
  shard_state& state() { return deref<shard_actor::stateful_base<shard_state>>(sh).state; }
  counting_store_state& store_state() {
    return deref<store_actor::stateful_base<counting_store_state>>(store).state;
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(shard_tests, fixture)

CAF_TEST(batches are routed to one actor per partition) {
  self->send(sh, atom::batch_v, test::log_batch(0, 1, 0, 3));
  self->send(sh, atom::batch_v, test::log_batch(1, 2, 0, 4));
  self->send(sh, atom::batch_v, test::log_batch(0, 1, 3, 2));
  sched.run();
  CAF_CHECK_EQUAL(state().children.size(), 2u);
  CAF_CHECK_EQUAL(store_state().rows, 9u);
  CAF_REQUIRE_EQUAL(sink->marks.size(), 3u);
}

CAF_TEST(a crashed partition actor is restarted after a rewind and stale batches are dropped) {
  self->send(sh, atom::batch_v, test::log_batch(0, 1, 0, 3));
  sched.run();
  auto first = state().children.at({"rtmon.logs", 0}).handle;
  CAF_REQUIRE(first);
  // Crash it.
  caf::anon_send_exit(first, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK(!state().children.at({"rtmon.logs", 0}).handle);
  CAF_CHECK(sink->rewinds.empty());  // not before the back-off
  // A batch polled before the consumer processed the rewind (same generation) is dropped.
  self->send(sh, atom::batch_v, test::log_batch(0, 1, 3, 2));
  sched.run();
  CAF_CHECK_EQUAL(store_state().rows, 3u);
  CAF_CHECK(!state().children.at({"rtmon.logs", 0}).handle);
  // After the back-off the supervisor restarts the child.
  advance_time(restart_backoff(1));
  sched.run();
  auto second = state().children.at({"rtmon.logs", 0}).handle;
  CAF_REQUIRE(second);
  CAF_REQUIRE_EQUAL(sink->rewinds.size(), 1u);
  CAF_CHECK_EQUAL(sink->rewinds[0].partition, 0);
  CAF_CHECK_NOT_EQUAL(second, first);
  // The re-delivered records (new generation) are stored.
  self->send(sh, atom::batch_v, test::log_batch(0, 2, 3, 2));
  sched.run();
  CAF_CHECK_EQUAL(store_state().rows, 5u);
  CAF_CHECK_EQUAL(sink->marks.back().next, 5);
  CAF_CHECK_EQUAL(sink->marks.back().gen, 2u);
}

CAF_TEST(a revoked partition actor stops without a rewind) {
  self->send(sh, atom::batch_v, test::log_batch(2, 1, 0, 1));
  sched.run();
  self->send(sh, atom::revoke_v, topic_partition{"rtmon.logs", 2});
  sched.run();
  CAF_CHECK_EQUAL(state().children.size(), 0u);
  CAF_CHECK(sink->rewinds.empty());
}

CAF_TEST(back - off grows and is capped) {
  CAF_CHECK_EQUAL(restart_backoff(1), caf::timespan{100ms});
  CAF_CHECK_EQUAL(restart_backoff(2), caf::timespan{200ms});
  CAF_CHECK_EQUAL(restart_backoff(20), caf::timespan{10s});
}

CAF_TEST_FIXTURE_SCOPE_END()
