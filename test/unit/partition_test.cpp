#define CAF_SUITE partition
#include "actors/partition/partition.hpp"
#include "test/unit/fakes.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace std::chrono_literals;

namespace {

// A store whose answers the test controls: it parks requests until told (by a message, so
// the promise is delivered from inside the actor) to answer request i with success or failure.
using fake_store_actor = store_actor::extend<caf::reacts_to<caf::ok_atom, size_t>,
                                             caf::reacts_to<caf::close_atom, size_t>>;

struct fake_store_state {
  std::vector<std::pair<store_batch_ptr, caf::typed_response_promise<store_result>>> parked;
  static inline const char* name = "fake_store";
};

fake_store_actor::behavior_type fake_store(
    fake_store_actor::stateful_pointer<fake_store_state> self) {
  return {
      [=](caf::ok_atom, size_t i) {
        auto& p = self->state.parked.at(i);
        p.second.deliver(store_result{p.first->rows()});
      },
      [=](caf::close_atom, size_t i) {
        self->state.parked.at(i).second.deliver(
            caf::make_error(caf::sec::runtime_error, "pg down"));
      },
      [=](atom::store, const store_batch_ptr& b) -> caf::result<store_result> {
        auto rp = self->make_response_promise<store_result>();
        self->state.parked.emplace_back(b, rp);
        return rp;
      },
      [](caf::flush_atom) {},
      [](atom::maintain) {},
  };
}

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<test::recording_sink> sink = std::make_shared<test::recording_sink>();
  fake_store_actor store;
  partition_actor part;
  fixture() {
    store = sys.spawn(fake_store);
    part = sys.spawn(partition, topic_partition{"rtmon.logs", 3}, store_actor{store},
                     offset_sink_ptr{sink}, size_t{100}, processor_actor{});
    sched.run();
  }
  ~fixture() override {
    // The base destructor runs all timers: stop the retry loop of unanswered requests first.
    caf::anon_send_exit(part, caf::exit_reason::kill);
    caf::anon_send_exit(store, caf::exit_reason::kill);
    sched.run();
  }
  fake_store_state& store_state() {
    return deref<fake_store_actor::stateful_base<fake_store_state>>(store).state;
  }
  void answer_ok(size_t i = 0) {
    self->send(store, caf::ok_atom_v, i);
    sched.run();
  }
  void answer_error(size_t i = 0) {
    self->send(store, caf::close_atom_v, i);
    sched.run();
  }
  partition_status status() {
    return deref<partition_actor::stateful_base<partition_actor_state>>(part).state.logic.status();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(partition_tests, fixture)

CAF_TEST(no offset is reported before the store commits) {
  self->send(part, atom::batch_v, test::log_batch(3, 1, 0, 10));
  sched.run();
  CAF_REQUIRE_EQUAL(store_state().parked.size(), 1u);
  CAF_CHECK_EQUAL(store_state().parked[0].first->logs.size(), 10u);
  CAF_CHECK(sink->marks.empty());
  answer_ok();
  CAF_REQUIRE_EQUAL(sink->marks.size(), 1u);
  CAF_CHECK_EQUAL(sink->marks[0].next, 10);
  CAF_CHECK_EQUAL(sink->marks[0].batches, 1u);
  CAF_CHECK_EQUAL(sink->marks[0].gen, 1u);
  CAF_CHECK_EQUAL(status().durable_offset, 10);
}

CAF_TEST(batches queued during a store request are merged into the next one) {
  self->send(part, atom::batch_v, test::log_batch(3, 1, 0, 10));
  sched.run();
  self->send(part, atom::batch_v, test::log_batch(3, 1, 10, 5));
  self->send(part, atom::batch_v, test::log_batch(3, 1, 15, 5));
  sched.run();
  CAF_REQUIRE_EQUAL(store_state().parked.size(), 1u);  // one request at a time
  answer_ok(0);
  CAF_REQUIRE_EQUAL(store_state().parked.size(), 2u);
  CAF_CHECK_EQUAL(store_state().parked[1].first->logs.size(), 10u);
  CAF_CHECK_EQUAL(sink->marks.size(), 1u);  // second request not committed yet
  answer_ok(1);
  CAF_REQUIRE_EQUAL(sink->marks.size(), 2u);
  CAF_CHECK_EQUAL(sink->marks[1].next, 20);
  CAF_CHECK_EQUAL(sink->marks[1].batches, 2u);
}

CAF_TEST(a failed store is retried with back-off and offsets wait for it) {
  self->send(part, atom::batch_v, test::log_batch(3, 1, 0, 4));
  sched.run();
  answer_error(0);
  CAF_CHECK(sink->marks.empty());
  CAF_CHECK_EQUAL(status().store_failures, 1u);
  CAF_CHECK_EQUAL(store_state().parked.size(), 1u);  // no retry before the back-off
  advance_time(100ms);
  sched.run();
  CAF_REQUIRE_EQUAL(store_state().parked.size(), 2u);
  // The retry carries the same rows.
  CAF_CHECK_EQUAL(store_state().parked[1].first, store_state().parked[0].first);
  answer_ok(1);
  CAF_REQUIRE_EQUAL(sink->marks.size(), 1u);
  CAF_CHECK_EQUAL(sink->marks[0].next, 4);
}

CAF_TEST(records already queued are not stored twice) {
  self->send(part, atom::batch_v, test::log_batch(3, 1, 0, 10));
  sched.run();
  self->send(part, atom::batch_v, test::log_batch(3, 1, 5, 10));  // overlaps 5..9
  sched.run();
  answer_ok(0);
  CAF_REQUIRE_EQUAL(store_state().parked.size(), 2u);
  CAF_CHECK_EQUAL(store_state().parked[1].first->logs.size(), 5u);
  CAF_CHECK_EQUAL(store_state().parked[1].first->logs.front().event_id, "e3-10");
}

CAF_TEST(an undecodable record becomes a dead letter and does not block the partition) {
  auto b = test::log_batch(3, 1, 0, 2);
  auto copy = std::make_shared<consumed_batch>(*b);
  copy->records.insert(copy->records.begin() + 1, kafka_record{1, "api", "not json"});
  copy->records[2].offset = 2;
  self->send(part, atom::batch_v, consumed_batch_ptr{copy});
  sched.run();
  auto& req = *store_state().parked.at(0).first;
  CAF_CHECK_EQUAL(req.logs.size(), 2u);
  CAF_REQUIRE_EQUAL(req.dead.size(), 1u);
  CAF_CHECK_EQUAL(req.dead[0].offset, 1);
  answer_ok(0);
  CAF_CHECK_EQUAL(sink->marks.at(0).next, 3);
}

CAF_TEST(a batch with nothing new still releases its credit without moving the offset) {
  self->send(part, atom::batch_v, test::log_batch(3, 1, 0, 10));
  sched.run();
  answer_ok(0);
  self->send(part, atom::batch_v, test::log_batch(3, 1, 2, 5));  // all seen before
  sched.run();
  CAF_REQUIRE_EQUAL(sink->marks.size(), 2u);
  CAF_CHECK_EQUAL(sink->marks[1].next, -1);
  CAF_CHECK_EQUAL(sink->marks[1].batches, 1u);
  CAF_CHECK_EQUAL(store_state().parked.size(), 1u);  // nothing stored again
}

CAF_TEST_FIXTURE_SCOPE_END()
