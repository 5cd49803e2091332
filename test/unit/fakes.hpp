// Test doubles shared by the actor suites.
#pragma once

#include <mutex>
#include <vector>

#include "messages/offsets.hpp"

namespace rtmon::test {

/// Records what partition actors report to the consumer.
struct recording_sink : offset_sink {
  struct mark {
    topic_partition tp;
    uint64_t gen;
    int64_t next;
    size_t batches;
  };
  std::mutex mx;
  std::vector<mark> marks;
  std::vector<topic_partition> rewinds;
  void durable(const topic_partition& tp, uint64_t gen, int64_t next, size_t batches) override {
    std::lock_guard<std::mutex> g{mx};
    marks.push_back({tp, gen, next, batches});
  }
  void rewind(const topic_partition& tp) override {
    std::lock_guard<std::mutex> g{mx};
    rewinds.push_back(tp);
  }
};

/// A batch of log records at consecutive offsets, each a valid normalized payload.
inline consumed_batch_ptr log_batch(int32_t partition, uint64_t gen, int64_t first, int n,
                                    const std::string& service = "api") {
  auto b = std::make_shared<consumed_batch>();
  b->tp = {"rtmon.logs", partition};
  b->kind = signal_kind::log;
  b->generation = gen;
  for (int i = 0; i < n; ++i) {
    auto off = first + i;
    b->records.push_back({off, service,
                          R"({"event_id":"e)" + std::to_string(partition) + "-" +
                              std::to_string(off) +
                              R"(","ts":"2026-11-23T10:00:00.000000Z","service":")" + service +
                              R"(","level":"info","message":"m","attrs":{}})"});
  }
  return b;
}

}  // namespace rtmon::test
