#include "actors/store/incident_store.hpp"

#include <thread>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <pqxx/except>

#include "system/kafka/producer.hpp"

namespace rtmon {

namespace {

using self_ptr = incident_store_actor::stateful_pointer<incident_store_state>;

constexpr size_t publish_batch = 500;

caf::timespan backoff(int failures) {
  return std::chrono::milliseconds{std::min<int64_t>(5000, 100ll << std::min(failures, 6))};
}

void schedule_flush(self_ptr self) {
  auto& st = self->state;
  if (st.flush_scheduled) return;
  st.flush_scheduled = true;
  self->send(self, caf::flush_atom_v);  // behind the requests already queued: they join
}

// Writes the queued requests (one transaction; after a data error one by one, so one bad
// request cannot hold back the others) and answers them. Returns the items now committed; on a
// lost connection the unanswered requests stay queued for the retry after the back-off.
template <class Item, class Result, class Write>
std::vector<Item> write_all(self_ptr self,
                            std::vector<std::pair<Item, caf::typed_response_promise<Result>>>& q,
                            Write write, const char* what, bool& lost) {
  std::vector<Item> written;
  if (q.empty()) return written;
  std::vector<Item> items;
  for (auto& p : q) items.push_back(p.first);
  try {
    auto t0 = std::chrono::steady_clock::now();
    write(items);
    if (self->state.metrics)
      self->state.metrics
          ->get_histogram("rtmon_incident_store_commit_seconds",
                          "Duration of one group commit of incident changes or aggregates",
                          std::string{"what=\""} + what + "\"")
          .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    for (auto& p : q) p.second.deliver(Result{1});
    q.clear();
    return items;
  } catch (const pqxx::broken_connection& e) {
    spdlog::warn("incident store: {}: connection lost: {}; retrying", what, e.what());
    lost = true;
    return written;
  } catch (const std::exception& e) {
    if (q.size() > 1)
      spdlog::warn("incident store: {} of {} failed ({}); writing one by one", what, q.size(),
                   e.what());
  }
  size_t done = 0;
  for (; done < q.size(); ++done) {
    auto& p = q[done];
    try {
      write(std::vector<Item>{p.first});
      p.second.deliver(Result{1});
      written.push_back(p.first);
    } catch (const pqxx::broken_connection& e) {
      lost = true;
      break;
    } catch (const std::exception& e) {
      spdlog::error("incident store: {} refused: {}", what, e.what());
      if (self->state.metrics)
        self->state.metrics
            ->get_counter("rtmon_incident_store_refused_total",
                          "Incident changes or aggregate writes Postgres refused")
            .inc();
      p.second.deliver(caf::make_error(caf::sec::runtime_error, e.what()));
    }
  }
  q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(done));
  return written;
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  bool lost = false;
  auto committed = write_all(
      self, st.changes, [&](const auto& xs) { st.db->apply(xs); }, "changes", lost);
  // Only what is committed is published; Kafka gets it through the outbox.
  if (!committed.empty()) self->send(self, atom::publish_v, false);
  if (!lost)
    write_all(
        self, st.aggs,
        [&](const auto& xs) {
          std::vector<aggregate_row> rows;
          for (const auto& x : xs) rows.insert(rows.end(), x.begin(), x.end());
          st.db->upsert_aggregates(rows);
        },
        "aggregates", lost);
  if (lost) {
    st.db->reset();
    ++st.failures;
    st.flush_scheduled = true;
    self->delayed_send(self, backoff(st.failures), caf::flush_atom_v);
  } else {
    st.failures = 0;
  }
}

// A read or a small write the caller waits for. Blocking retries are fine here: this actor has
// its own thread, and nothing of the service can go on before the answer is known.
template <class F>
auto with_retries(self_ptr self, const char* what, F f) -> caf::result<decltype(f())> {
  for (int attempt = 1;; ++attempt) {
    try {
      return f();
    } catch (const pqxx::broken_connection& e) {
      self->state.db->reset();
      if (attempt >= 30) return caf::make_error(caf::sec::runtime_error, e.what());
      spdlog::warn("incident store: {}: {}", what, e.what());
      std::this_thread::sleep_for(std::chrono::seconds{1});
    } catch (const pqxx::sql_error& e) {
      // The statement was refused (not the connection): retrying would not help.
      return caf::make_error(caf::sec::runtime_error, std::string{what} + ": " + e.what());
    } catch (const std::exception& e) {
      self->state.db->reset();
      if (attempt >= 30) return caf::make_error(caf::sec::runtime_error, e.what());
      spdlog::warn("incident store: {}: {}", what, e.what());
      std::this_thread::sleep_for(std::chrono::seconds{1});
    }
  }
}

}  // namespace

incident_store_actor::behavior_type incident_store(self_ptr self,
                                                   std::shared_ptr<pg::processing_store> db,
                                                   kafka::producer* producer, std::string topic,
                                                   metrics_registry* metrics) {
  auto& st = self->state;
  st.db = std::move(db);
  st.producer = producer;
  st.topic = std::move(topic);
  st.metrics = metrics;
  // Entries left unpublished by an earlier run (a crash between commit and produce) go out now.
  if (st.producer) self->send(self, atom::publish_v, true);
  return {
      [=](atom::persist, incident_change& c) -> caf::result<uint32_t> {
        auto rp = self->make_response_promise<uint32_t>();
        self->state.changes.emplace_back(std::move(c), rp);
        schedule_flush(self);
        return rp;
      },
      [=](atom::aggregate, std::vector<aggregate_row>& rows) -> caf::result<uint64_t> {
        auto rp = self->make_response_promise<uint64_t>();
        self->state.aggs.emplace_back(std::move(rows), rp);
        schedule_flush(self);
        return rp;
      },
      [=](caf::flush_atom) { flush(self); },
      [=](atom::load, const std::string& service) -> caf::result<std::vector<incident_record>> {
        return with_retries(self, "loading open incidents",
                            [&] { return self->state.db->open_incidents(service); });
      },
      [=](atom::command, const std::string& id) -> caf::result<std::string> {
        return with_retries(self, "reading a command",
                            [&] { return self->state.db->command_status(id); });
      },
      [=](atom::reject, const std::string& id, const std::string& why) -> caf::result<bool> {
        return with_retries(self, "refusing a command", [&] {
          self->state.db->reject_command(id, why);
          return true;
        });
      },
      [=](atom::publish, bool timer) {
        auto& st = self->state;
        // One timer chain, started above: it retries what failed or was left over.
        if (timer) self->delayed_send(self, st.publish_every, atom::publish_v, true);
        if (!st.producer || st.publishing) return;
        std::vector<unpublished_entry> entries;
        try {
          entries = st.db->unpublished(publish_batch);
        } catch (const std::exception& e) {
          spdlog::warn("incident store: reading the outbox: {}", e.what());
          st.db->reset();
        }
        if (entries.empty()) return;
        st.publishing = true;
        std::vector<ingest::item> items;
        for (const auto& e : entries)
          items.push_back({e.incident_id + ":" + std::to_string(e.seq), e.fingerprint, e.message});
        auto me = caf::actor_cast<incident_store_actor>(self);
        st.producer->produce(st.topic, std::move(items), [me, entries](kafka::produce_outcome out) {
          caf::anon_send(me, atom::published_v, entries, out.status == kafka::produce_status::ok);
        });
      },
      [=](atom::published, const std::vector<unpublished_entry>& entries, bool ok) {
        auto& st = self->state;
        st.publishing = false;
        if (ok) {
          std::vector<std::pair<std::string, uint32_t>> keys;
          for (const auto& e : entries) keys.emplace_back(e.incident_id, e.seq);
          try {
            st.db->mark_published(keys);
          } catch (const std::exception& e) {
            // Published but not marked: they go out again (consumers dedupe by id:seq).
            spdlog::warn("incident store: marking published entries: {}", e.what());
            st.db->reset();
          }
          if (st.metrics)
            st.metrics
                ->get_counter("rtmon_incident_messages_published_total",
                              "Incident transitions produced to Kafka")
                .inc(entries.size());
        }
        if (ok && entries.size() == publish_batch) self->send(self, atom::publish_v, false);
      },
  };
}

}  // namespace rtmon
