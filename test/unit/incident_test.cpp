#define CAF_SUITE incident
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "actors/incident/incident_machine.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;

namespace {

constexpr int64_t minute = 60000;

using transitions = std::vector<incident_transition>;

// "kind[!],kind[!] -> status" where ! marks notify; "- -> status" when nothing happened.
std::string describe(const transitions& ts, const incident_machine& m) {
  std::string out;
  for (const auto& t : ts) out += (out.empty() ? "" : ",") + t.kind + (t.notify ? "!" : "");
  return (out.empty() ? "-" : out) + " -> " + to_string(m.status());
}

std::string kinds(const transitions& ts) {
  std::string out;
  for (const auto& t : ts) out += (out.empty() ? "" : ",") + t.kind + (t.notify ? "!" : "");
  return out.empty() ? "-" : out;
}

enum class start { fresh, pending, triggered, acknowledged, resolved, cancelled, silenced };

incident_machine make_in(start s) {
  incident_machine m("rule|svc|", flapping_policy{0, 0});
  switch (s) {
    case start::fresh:
      break;
    case start::pending:
      m.pending(1, 10, "p");
      break;
    case start::triggered:
      m.fire(1, 10, "f");
      break;
    case start::acknowledged:
      m.fire(1, 10, "f");
      m.acknowledge("alice", 20);
      break;
    case start::resolved:
      m.fire(1, 10, "f");
      m.clear(20);
      break;
    case start::cancelled:
      m.pending(1, 10, "p");
      m.clear(20);
      break;
    case start::silenced:  // triggered and silenced until 1000
      m.fire(1, 10, "f");
      m.silence("bob", 1000, 20);
      break;
  }
  return m;
}

using input = std::function<transitions(incident_machine&)>;

struct named_input {
  std::string name;
  input apply;
};

std::vector<named_input> inputs() {
  return {
      {"pending", [](incident_machine& m) { return m.pending(2, 100, "d"); }},
      {"fire", [](incident_machine& m) { return m.fire(2, 100, "d"); }},
      {"repeat", [](incident_machine& m) { return m.repeat(2, 100); }},
      {"clear", [](incident_machine& m) { return m.clear(100); }},
      {"acknowledge", [](incident_machine& m) { return m.acknowledge("carol", 100); }},
      {"resolve", [](incident_machine& m) { return m.resolve("carol", 100); }},
      {"silence", [](incident_machine& m) { return m.silence("carol", 500, 100); }},
      {"unsilence", [](incident_machine& m) { return m.unsilence("carol", 100); }},
  };
}

}  // namespace

CAF_TEST(every input from every state) {
  // Columns in the order of inputs(): pending fire repeat clear acknowledge resolve silence
  // unsilence.
  struct row {
    start from;
    std::string name;
    std::vector<std::string> expected;
  };
  const std::string none_p = "- -> pending", none_r = "- -> resolved", none_c = "- -> cancelled";
  const std::vector<row> rows = {
      {start::fresh,
       "not started",
       {"pending -> pending", "triggered! -> triggered", none_p, none_p, none_p, none_p, none_p,
        none_p}},
      {start::pending,
       "pending",
       {none_p, "triggered! -> triggered", none_p, "cancelled -> cancelled", none_p,
        "resolved -> resolved", "silenced -> pending", none_p}},
      {start::triggered,
       "triggered",
       {"- -> triggered", "repeat -> triggered", "repeat -> triggered", "resolved! -> resolved",
        "acknowledged! -> acknowledged", "resolved! -> resolved", "silenced -> triggered",
        "- -> triggered"}},
      {start::acknowledged,
       "acknowledged",
       {"- -> acknowledged", "repeat -> acknowledged", "repeat -> acknowledged",
        "resolved! -> resolved", "- -> acknowledged", "resolved! -> resolved",
        "silenced -> acknowledged", "- -> acknowledged"}},
      {start::resolved,
       "resolved",
       {none_r, none_r, none_r, none_r, none_r, none_r, none_r, none_r}},
      {start::cancelled,
       "cancelled",
       {none_c, none_c, none_c, none_c, none_c, none_c, none_c, none_c}},
      // Silenced (until 1000, triggered): the same moves, none of them notifies.
      {start::silenced,
       "silenced",
       {"- -> triggered", "repeat -> triggered", "repeat -> triggered", "resolved -> resolved",
        "acknowledged -> acknowledged", "resolved -> resolved", "silenced -> triggered",
        "unsilenced -> triggered"}},
  };
  auto ins = inputs();
  for (const auto& r : rows) {
    CAF_REQUIRE_EQUAL(r.expected.size(), ins.size());
    for (size_t i = 0; i < ins.size(); ++i) {
      auto m = make_in(r.from);
      auto seq_before = m.last_seq();
      auto ts = ins[i].apply(m);
      auto got = describe(ts, m);
      if (got != r.expected[i]) CAF_MESSAGE("from " << r.name << " input " << ins[i].name);
      CAF_CHECK_EQUAL(got, r.expected[i]);
      for (const auto& t : ts)  // timeline entries count up; a repeat is none
        CAF_CHECK_EQUAL(t.seq, t.kind == "repeat" ? seq_before : ++seq_before);
    }
  }
}

CAF_TEST(unsilence only when silenced) {
  auto m = make_in(start::triggered);
  CAF_CHECK_EQUAL(kinds(m.unsilence("bob", 30)), "-");
  CAF_CHECK_EQUAL(kinds(m.silence("bob", 30, 30)), "-");  // until must be in the future
  CAF_CHECK_EQUAL(kinds(m.silence("bob", 100, 30)), "silenced");
  CAF_CHECK(m.silenced(99));
  CAF_CHECK(!m.silenced(100));
  CAF_CHECK_EQUAL(kinds(m.unsilence("bob", 100)), "-");  // expired by itself
  CAF_CHECK_EQUAL(kinds(m.silence("bob", 1000, 200)), "silenced");
  CAF_CHECK_EQUAL(kinds(m.silence("bob", 2000, 300)), "silenced");  // extend
  CAF_CHECK(m.silenced(1500));
  CAF_CHECK_EQUAL(kinds(m.unsilence("bob", 400)), "unsilenced");
  CAF_CHECK(!m.silenced(400));
  CAF_CHECK_EQUAL(kinds(m.repeat(3, 500)), "repeat");
  CAF_CHECK_EQUAL(kinds(m.clear(600)), "resolved!");
}

CAF_TEST(a silence mutes notifications only until it expires) {
  incident_machine m("fp");
  CAF_CHECK_EQUAL(kinds(m.pending(1, 100, "p")), "pending");
  CAF_CHECK_EQUAL(kinds(m.silence("bob", 1000, 200)), "silenced");
  CAF_CHECK_EQUAL(kinds(m.fire(2, 999, "f")), "triggered");
  CAF_CHECK_EQUAL(kinds(m.acknowledge("bob", 1000)), "acknowledged!");
  CAF_CHECK_EQUAL(kinds(m.clear(1100)), "resolved!");
}

CAF_TEST(transitions carry their fields) {
  incident_machine m("api-latency|api|endpoint=/users");
  CAF_CHECK_EQUAL(m.fingerprint(), "api-latency|api|endpoint=/users");
  CAF_CHECK(!m.open());
  CAF_CHECK_EQUAL(m.last_seq(), 0u);
  auto p = m.pending(510, 1000, "p95 510 > 500");
  CAF_REQUIRE_EQUAL(p.size(), 1u);
  CAF_CHECK_EQUAL(p[0].seq, 1u);
  CAF_CHECK_EQUAL(p[0].kind, "pending");
  CAF_CHECK_EQUAL(p[0].actor, "rtmon");
  CAF_CHECK_EQUAL(p[0].detail, "p95 510 > 500");
  CAF_CHECK_EQUAL(p[0].value, 510.0);
  CAF_CHECK_EQUAL(p[0].at_ms, 1000);
  CAF_CHECK(!p[0].notify);
  CAF_CHECK(m.open());
  CAF_CHECK_EQUAL(m.opened_ms(), 1000);
  CAF_CHECK_EQUAL(m.breach_count(), 0u);
  auto f = m.fire(520, 61000, "p95 520 > 500");
  CAF_REQUIRE_EQUAL(f.size(), 1u);
  CAF_CHECK_EQUAL(f[0].seq, 2u);
  CAF_CHECK(f[0].from == incident_status::pending);
  CAF_CHECK(f[0].to == incident_status::triggered);
  CAF_CHECK(f[0].notify);
  CAF_CHECK_EQUAL(m.opened_ms(), 1000);  // opened at the first transition
  CAF_CHECK_EQUAL(m.breach_count(), 1u);
  m.repeat(530, 62000);
  m.repeat(525, 63000);
  CAF_CHECK_EQUAL(m.breach_count(), 3u);
  CAF_CHECK_EQUAL(m.last_value(), 525.0);
  CAF_CHECK_EQUAL(m.last_seen_ms(), 63000);
  auto a = m.acknowledge("alice", 64000);
  CAF_REQUIRE_EQUAL(a.size(), 1u);
  CAF_CHECK_EQUAL(a[0].actor, "alice");
  CAF_CHECK_EQUAL(m.acknowledged_ms(), 64000);
  m.repeat(540, 65000);  // repeats continue while acknowledged
  CAF_CHECK_EQUAL(m.breach_count(), 4u);
  CAF_CHECK(m.status() == incident_status::acknowledged);
  auto r = m.clear(70000);
  CAF_REQUIRE_EQUAL(r.size(), 1u);
  CAF_CHECK_EQUAL(r[0].seq, 4u);  // pending, triggered, acknowledged, resolved: repeats take none
  CAF_CHECK_EQUAL(r[0].actor, "rtmon");
  CAF_CHECK(r[0].from == incident_status::acknowledged);
  CAF_CHECK(r[0].to == incident_status::resolved);
  CAF_CHECK(r[0].notify);
  CAF_CHECK_EQUAL(m.resolved_ms(), 70000);
  CAF_CHECK(!m.open());
  CAF_CHECK_EQUAL(m.last_seq(), 4u);
  CAF_CHECK_EQUAL(to_string(incident_status::acknowledged), "acknowledged");
}

CAF_TEST(flapping spans incidents and throttles automatic notifications) {
  flapping_policy policy{4, 10 * minute};
  // Incident 1 and 2 of one fingerprint: four counted changes (triggered, resolved) x 2.
  incident_machine m1("fp", policy);
  CAF_CHECK_EQUAL(kinds(m1.pending(1, 0, "")), "pending");  // pending does not count
  CAF_CHECK_EQUAL(kinds(m1.fire(1, minute, "")), "triggered!");
  CAF_CHECK_EQUAL(kinds(m1.clear(2 * minute)), "resolved!");
  incident_machine m2("fp", policy, m1.history());
  CAF_CHECK_EQUAL(kinds(m2.fire(1, 3 * minute, "")), "triggered!");
  auto r2 = m2.clear(4 * minute);
  CAF_CHECK_EQUAL(kinds(r2), "resolved!,flapping!");
  CAF_CHECK_EQUAL(r2.back().seq, 3u);
  CAF_CHECK(m2.flapping());
  CAF_CHECK(m2.status() == incident_status::resolved);  // flapping is an overlay
  // Incident 3 while flapping: automatic changes do not notify, user actions still do.
  incident_machine m3("fp", policy, m2.history());
  CAF_CHECK(m3.flapping());
  CAF_CHECK_EQUAL(kinds(m3.fire(1, 5 * minute, "")), "triggered");
  CAF_CHECK_EQUAL(kinds(m3.acknowledge("alice", 5 * minute + 1)), "acknowledged!");
  CAF_CHECK_EQUAL(kinds(m3.clear(6 * minute)), "resolved");
  // Incident 4 long after: few changes left in the window, so it is stable again.
  incident_machine m4("fp", policy, m3.history());
  CAF_CHECK_EQUAL(kinds(m4.fire(1, 15 * minute, "")), "triggered!,stable!");
  CAF_CHECK(!m4.flapping());
  CAF_CHECK_EQUAL(m4.last_seq(), 2u);
  // A stable check also happens on repeats of a long-open incident.
  incident_machine m5("fp", policy, flap_history{{0, 1, 2, 3}, true});
  CAF_CHECK_EQUAL(kinds(m5.fire(1, 4, "")), "triggered");
  CAF_CHECK_EQUAL(kinds(m5.repeat(1, 10 * minute + 2)), "repeat,stable!");
  CAF_CHECK_EQUAL(kinds(m5.clear(10 * minute + 3)), "resolved!");
}

CAF_TEST(flapping detection can be disabled) {
  flap_history h;
  for (int i = 0; i < 10; ++i) {
    incident_machine m("fp", flapping_policy{0, 0}, h);
    CAF_CHECK_EQUAL(kinds(m.fire(1, i * 10, "")), "triggered!");
    CAF_CHECK_EQUAL(kinds(m.clear(i * 10 + 5)), "resolved!");
    h = m.history();
  }
  CAF_CHECK(!h.flapping);
}

CAF_TEST(random input sequences keep the invariants) {
  std::mt19937 rng(20261123);
  flapping_policy policy{4, 10 * minute};
  const int sequences = 10000, steps = 30;
  size_t total = 0, notified = 0, flaps = 0, stables = 0, silenced_entries = 0;
  bool ok = true;
  auto invariant = [&](bool cond, const char* what, int seqno, int step) {
    if (!cond && ok) {
      ok = false;
      CAF_MESSAGE("invariant broken: " << what << " (sequence " << seqno << ", step " << step
                                       << ")");
    }
  };
  for (int s = 0; s < sequences && ok; ++s) {
    int64_t now = std::uniform_int_distribution<int64_t>(0, minute)(rng);
    flap_history history;
    auto m = std::make_unique<incident_machine>("fp", policy, history);
    uint32_t last_seq = 0;
    int triggered_seen = 0;
    uint64_t last_count = 0;
    bool flapping = false;
    for (int step = 0; step < steps && ok; ++step) {
      now += std::uniform_int_distribution<int64_t>(0, 2 * minute)(rng);
      if (!m->open() && m->last_seq() > 0 && rng() % 2 == 0) {
        // The incident ended: the next breach opens a new one with the flapping history.
        m = std::make_unique<incident_machine>("fp", policy, m->history());
        last_seq = 0;
        triggered_seen = 0;
        last_count = 0;
      }
      auto before = m->status();
      bool was_started = m->last_seq() > 0;
      bool terminal = was_started && !m->open();
      bool silenced_before = m->silenced(now);
      int which = static_cast<int>(rng() % 8);
      double value = std::uniform_real_distribution<double>(0, 100)(rng);
      transitions ts;
      switch (which) {
        case 0:
          ts = m->pending(value, now, "p");
          break;
        case 1:
          ts = m->fire(value, now, "f");
          break;
        case 2:
          ts = m->repeat(value, now);
          break;
        case 3:
          ts = m->clear(now);
          break;
        case 4:
          ts = m->acknowledge("u", now);
          break;
        case 5:
          ts = m->resolve("u", now);
          break;
        case 6:
          ts = m->silence("u", now + std::uniform_int_distribution<int64_t>(0, 5 * minute)(rng),
                          now);
          break;
        case 7:
          ts = m->unsilence("u", now);
          break;
      }
      total += ts.size();
      invariant(!terminal || ts.empty(), "terminal states stay terminal", s, step);
      auto prev = before;
      bool settles = false;  // "stable" is decided before the input's own transition
      for (const auto& t : ts) settles = settles || t.kind == "stable";
      bool throttled = flapping && !settles;
      for (size_t i = 0; i < ts.size(); ++i) {
        const auto& t = ts[i];
        invariant(t.seq == (t.kind == "repeat" ? last_seq : last_seq + 1),
                  "timeline seq strictly +1, repeats take none", s, step);
        last_seq = t.seq;
        invariant(t.at_ms == now, "at_ms is the input time", s, step);
        invariant(t.from == prev, "from continues the chain", s, step);
        prev = t.to;
        if (t.notify) ++notified;
        bool muted = m->silenced(now) || (silenced_before && which != 7);
        invariant(!(muted && t.notify), "notify is false while silenced", s, step);
        if (t.kind == "triggered") {
          ++triggered_seen;
          invariant(triggered_seen == 1, "at most one triggered per machine", s, step);
        }
        if (t.kind == "triggered" || (t.kind == "resolved" && t.actor == "rtmon") ||
            t.kind == "acknowledged")
          invariant(t.notify == (!muted && (t.actor != "rtmon" || !throttled)),
                    "changes notify unless silenced or flapping", s, step);
        if (t.kind == "acknowledged")
          invariant(t.from == incident_status::triggered && triggered_seen == 1,
                    "acknowledged only after triggered", s, step);
        if (t.kind == "pending" || t.kind == "repeat" || t.kind == "cancelled" ||
            t.kind == "silenced" || t.kind == "unsilenced")
          invariant(!t.notify, "quiet kinds never notify", s, step);
        if (t.kind == "flapping") {
          ++flaps;
          invariant(!flapping, "flapping only when not flapping", s, step);
          flapping = true;
        }
        if (t.kind == "stable") {
          ++stables;
          invariant(flapping, "stable only after flapping", s, step);
          flapping = false;
        }
        if (t.kind == "silenced") ++silenced_entries;
        if (t.to == incident_status::resolved || t.to == incident_status::cancelled)
          invariant(
              i + 1 == ts.size() || ts[i + 1].kind == "flapping" || ts[i + 1].kind == "stable",
              "nothing but overlays after the end", s, step);
      }
      invariant(m->flapping() == flapping, "flapping() matches the timeline", s, step);
      invariant(m->last_seq() == last_seq, "last_seq matches the timeline", s, step);
      invariant(m->breach_count() >= last_count, "counts are monotonic", s, step);
      last_count = m->breach_count();
      invariant(m->breach_count() == 0 || triggered_seen == 1, "counts start at triggered", s,
                step);
      if (m->status() == incident_status::acknowledged)
        invariant(m->acknowledged_ms() >= m->opened_ms(), "acknowledged after opening", s, step);
      if (m->last_seq() > 0 && !m->open())
        invariant(m->resolved_ms() >= m->opened_ms(), "closed after opening", s, step);
    }
  }
  CAF_CHECK(ok);
  // The sequences did exercise every overlay.
  CAF_MESSAGE(total << " transitions, " << notified << " notified, " << flaps << " flapping, "
                    << stables << " stable, " << silenced_entries << " silenced");
  CAF_CHECK(total > 100000u);
  CAF_CHECK(flaps > 0u);
  CAF_CHECK(stables > 0u);
  CAF_CHECK(silenced_entries > 0u);
}

CAF_TEST(notes are timeline entries on open incidents that change nothing else) {
  incident_machine m{"fp"};
  CAF_CHECK_EQUAL(kinds(m.note("alice", "looking", 5)), "-");  // not started: nothing to note
  m.fire(1, 10, "value 1 > 0");
  auto ts = m.note("alice", "restarting the pool", 20);
  CAF_REQUIRE_EQUAL(ts.size(), 1u);
  CAF_CHECK_EQUAL(ts[0].kind, "note");
  CAF_CHECK_EQUAL(ts[0].detail, "restarting the pool");
  CAF_CHECK_EQUAL(ts[0].actor, "alice");
  CAF_CHECK(!ts[0].notify);
  CAF_CHECK_EQUAL(ts[0].seq, 2u);
  CAF_CHECK(ts[0].from == incident_status::triggered && ts[0].to == incident_status::triggered);
  CAF_CHECK(m.status() == incident_status::triggered);
  CAF_CHECK_EQUAL(kinds(m.acknowledge("alice", 30)), "acknowledged!");
  auto fixed = m.note("bob", "fixed", 40);
  CAF_REQUIRE_EQUAL(fixed.size(), 1u);
  CAF_CHECK_EQUAL(fixed[0].seq, 4u);
  m.resolve("bob", 50);
  CAF_CHECK_EQUAL(kinds(m.note("bob", "postmortem", 60)), "-");  // closed: the API writes it
}
