// The partition actor of the processing pipeline: no raw store (the store pipeline's own
// consumer group writes the rows), so a batch goes to the PROCESSOR as soon as it arrives and
// its offset is reported once the processor applied its effects, always in offset order.
#define CAF_SUITE partition_processing
#include "actors/partition/partition.hpp"
#include "test/unit/fakes.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;

namespace {

// A processor whose answers the test controls: it parks observe requests until told to
// answer request i.
using fake_processor_actor = processor_actor::extend<caf::reacts_to<caf::ok_atom, size_t>>;

struct fake_processor_state {
  struct parked {
    store_batch_ptr rows;
    bool warmup;
    caf::typed_response_promise<uint64_t> rp;
  };
  std::vector<parked> requests;
  static inline const char* name = "fake_processor";
};

fake_processor_actor::behavior_type fake_processor(
    fake_processor_actor::stateful_pointer<fake_processor_state> self) {
  return {
      [=](caf::ok_atom, size_t i) {
        auto& p = self->state.requests.at(i);
        p.rp.deliver(uint64_t{p.rows->logs.size()});
      },
      [=](atom::observe, const store_batch_ptr& rows, bool warmup) -> caf::result<uint64_t> {
        auto rp = self->make_response_promise<uint64_t>();
        self->state.requests.push_back({rows, warmup, rp});
        return rp;
      },
      [](atom::status) { return std::vector<std::string>{}; },
  };
}

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<test::recording_sink> sink = std::make_shared<test::recording_sink>();
  fake_processor_actor proc;
  partition_actor part;
  fixture() {
    proc = sys.spawn(fake_processor);
    part = sys.spawn(partition, topic_partition{"rtmon.logs", 3}, store_actor{},
                     offset_sink_ptr{sink}, size_t{100}, caf::actor_cast<processor_actor>(proc));
    sched.run();
  }
  ~fixture() override {
    caf::anon_send_exit(part, caf::exit_reason::kill);
    caf::anon_send_exit(proc, caf::exit_reason::kill);
    sched.run();
  }
  std::vector<fake_processor_state::parked>& requests() {
    return deref<fake_processor_actor::stateful_base<fake_processor_state>>(proc).state.requests;
  }
  void answer(size_t i) {
    self->send(proc, caf::ok_atom_v, i);
    sched.run();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(partition_processing_tests, fixture)

CAF_TEST(a batch goes to the processor at once and its offset waits for the effects) {
  self->send(part, atom::batch_v, test::log_batch(3, 1, 0, 10));
  sched.run();
  CAF_REQUIRE_EQUAL(requests().size(), 1u);
  CAF_CHECK_EQUAL(requests()[0].rows->logs.size(), 10u);
  CAF_CHECK(!requests()[0].warmup);
  CAF_CHECK(sink->marks.empty());
  answer(0);
  CAF_REQUIRE_EQUAL(sink->marks.size(), 1u);
  CAF_CHECK_EQUAL(sink->marks[0].next, 10);
  CAF_CHECK_EQUAL(sink->marks[0].batches, 1u);
}

CAF_TEST(batches do not wait for each other and offsets are reported in order) {
  self->send(part, atom::batch_v, test::log_batch(3, 1, 0, 10));
  sched.run();
  self->send(part, atom::batch_v, test::log_batch(3, 1, 10, 5));
  sched.run();
  // No store round trip between them: both are with the processor.
  CAF_REQUIRE_EQUAL(requests().size(), 2u);
  CAF_CHECK_EQUAL(requests()[1].rows->logs.front().event_id, "e3-10");
  answer(1);
  CAF_CHECK(sink->marks.empty());  // the first batch's effects are not applied yet
  answer(0);
  CAF_REQUIRE_EQUAL(sink->marks.size(), 2u);
  CAF_CHECK_EQUAL(sink->marks[0].next, 10);
  CAF_CHECK_EQUAL(sink->marks[1].next, 15);
}

CAF_TEST(warm - up records rebuild state first and move no offset) {
  auto b = test::log_batch(3, 1, 0, 10);
  auto copy = std::make_shared<consumed_batch>(*b);
  copy->warmup_until = 6;  // 0..5 were committed before the restart
  self->send(part, atom::batch_v, consumed_batch_ptr{copy});
  sched.run();
  CAF_REQUIRE_EQUAL(requests().size(), 2u);
  CAF_CHECK(requests()[0].warmup);
  CAF_CHECK_EQUAL(requests()[0].rows->logs.size(), 6u);
  CAF_CHECK(!requests()[1].warmup);
  CAF_CHECK_EQUAL(requests()[1].rows->logs.size(), 4u);
  answer(0);
  CAF_CHECK(sink->marks.empty());
  answer(1);
  CAF_REQUIRE_EQUAL(sink->marks.size(), 1u);
  CAF_CHECK_EQUAL(sink->marks[0].next, 10);
}

CAF_TEST_FIXTURE_SCOPE_END()
