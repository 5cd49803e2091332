#define CAF_SUITE producer
// The edge's producer against librdkafka's in-process mock cluster: acknowledgements, and
// injected broker errors (including code -1, UNKNOWN_SERVER_ERROR) must never turn into a 202.
#include <condition_variable>
#include <future>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "system/kafka/producer.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;

namespace {

struct fixture {
  metrics_registry metrics;
  kafka_settings settings;
  fixture() {
    settings.brokers = "unused:9092";  // the mock cluster replaces it
    settings.message_timeout_ms = 3000;
    settings.properties = {"test.mock.num.brokers=1", "retry.backoff.ms=50"};
  }
  static std::vector<ingest::item> items(int n) {
    std::vector<ingest::item> out;
    for (int i = 0; i < n; ++i)
      out.push_back({"id-" + std::to_string(i), "svc-" + std::to_string(i % 2), "{\"x\":1}"});
    return out;
  }
  // Produces and waits (bounded) for the one outcome.
  static kafka::produce_outcome produce(kafka::producer& p, int n) {
    auto done = std::make_shared<std::promise<kafka::produce_outcome>>();
    auto fut = done->get_future();
    p.produce("t", items(n), [done](kafka::produce_outcome o) { done->set_value(std::move(o)); });
    if (fut.wait_for(std::chrono::seconds{30}) != std::future_status::ready)
      return {kafka::produce_status::failed, "no outcome within 30 s"};
    return fut.get();
  }
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(producer_tests, fixture)

CAF_TEST(acknowledged items report ok once) {
  kafka::producer p{settings, metrics};
  auto out = produce(p, 5);
  CAF_CHECK(out.status == kafka::produce_status::ok);
  CAF_CHECK_EQUAL(p.inflight_bytes(), 0u);
  p.shutdown(1000);
}

CAF_TEST(a persistent broker error is never reported as ok) {
  kafka::producer p{settings, metrics};
  CAF_REQUIRE(produce(p, 1).status == kafka::produce_status::ok);  // topic and PID exist
  auto* mock = rd_kafka_handle_mock_cluster(p.handle());
  CAF_REQUIRE(mock != nullptr);
  // -1 is RD_KAFKA_RESP_ERR_UNKNOWN: a real code, not a marker.
  rd_kafka_mock_push_request_errors(mock, 0 /* Produce */, 200, RD_KAFKA_RESP_ERR_UNKNOWN);
  auto out = produce(p, 3);
  CAF_CHECK(out.status != kafka::produce_status::ok);
  CAF_MESSAGE("outcome: " << static_cast<int>(out.status) << " " << out.error);
  CAF_CHECK_EQUAL(p.inflight_bytes(), 0u);
  p.shutdown(0);
}

CAF_TEST(a message too large is a permanent failure) {
  kafka::producer p{settings, metrics};
  CAF_REQUIRE(produce(p, 1).status == kafka::produce_status::ok);
  auto* mock = rd_kafka_handle_mock_cluster(p.handle());
  rd_kafka_mock_push_request_errors(mock, 0, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  auto out = produce(p, 1);
  CAF_CHECK(out.status == kafka::produce_status::failed);
  p.shutdown(0);
}

CAF_TEST_FIXTURE_SCOPE_END()
