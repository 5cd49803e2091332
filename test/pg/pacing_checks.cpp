// The notification pace shared by hub processes (sql/006_notify_pacing.sql) against a real
// PostgreSQL: two outbox_store instances are two processes (two connections).
#include <chrono>
#include <string>
#include <thread>

#include <pqxx/pqxx>

#include "system/pg/outbox_store.hpp"
#include "test/pg/checks.hpp"

namespace rtmon::pg_test {

void test_pacing(const std::string& url) {
  section("pacing: one schedule for every process");
  pg::outbox_store a{url, nullptr}, b{url, nullptr};
  const int64_t t = 1000;         // 1 message per second
  const int64_t never = 3600000;  // waits of up to an hour are taken
  // Burst 3: three slots at once, whoever asks; then one per second, alternating processes.
  CHECK_EQ(a.reserve_slot("slack", t, 3, never), 0);
  CHECK_EQ(b.reserve_slot("slack", t, 3, never), 0);
  CHECK_EQ(a.reserve_slot("slack", t, 3, never), 0);
  auto w4 = b.reserve_slot("slack", t, 3, never);
  auto w5 = a.reserve_slot("slack", t, 3, never);
  auto w6 = b.reserve_slot("slack", t, 3, never);
  CHECK(w4 > 900 && w4 <= 1000);
  CHECK(w5 > 1900 && w5 <= 2000);
  CHECK(w6 > 2900 && w6 <= 3000);
  // Another channel has its own schedule.
  CHECK_EQ(b.reserve_slot("email", t, 1, never), 0);
  auto e2 = a.reserve_slot("email", t, 1, never);
  CHECK(e2 > 900 && e2 <= 1000);

  // A caller that will not wait 4 s takes no slot: the next one still gets the 4 s slot.
  auto no = a.reserve_slot("slack", t, 3, 1000);
  CHECK(no > 3900 && no <= 4000);
  auto w7 = b.reserve_slot("slack", t, 3, never);
  CHECK(w7 > 3900 && w7 <= 4000);

  section("pacing: a Retry-After holds every process");
  CHECK_EQ(a.reserve_slot("hook", 100, 5, never), 0);
  b.hold_slots("hook", 3000, 100, 5);
  auto h = a.reserve_slot("hook", 100, 5, never);
  CHECK(h > 2900 && h <= 3000);
  // After the hold the burst does not come back at once: the next slot is one interval later.
  auto h2 = b.reserve_slot("hook", 100, 5, never);
  CHECK(h2 > 3000 && h2 <= 3100);

  section("pacing: unused time earns at most the burst");
  CHECK_EQ(a.reserve_slot("idle", 200, 2, never), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds{700});  // 3.5 intervals idle
  CHECK_EQ(a.reserve_slot("idle", 200, 2, never), 0);
  CHECK_EQ(b.reserve_slot("idle", 200, 2, never), 0);
  auto i3 = a.reserve_slot("idle", 200, 2, never);
  CHECK(i3 > 100 && i3 <= 200);
}

}  // namespace rtmon::pg_test
