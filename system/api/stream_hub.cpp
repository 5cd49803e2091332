#include "system/api/stream_hub.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>
#include <pqxx/nontransaction>

#include "system/api/params.hpp"
#include "system/api/service.hpp"
#include "system/pg/channels.hpp"

namespace rtmon::api {

namespace json = boost::json;

namespace {

constexpr int read_batch = 500;

// The timeline row's Kafka message plus its stream position.
constexpr const char* rows_sql =
    "select stream_id, (message || jsonb_build_object('stream_id', stream_id))::text"
    " from incident_events where stream_id > $1 and stream_id <= $2"
    " order by stream_id limit $3";

}  // namespace

stream_hub::stream_hub(std::string url)
    : listener_("stream hub", std::move(url), pg::stream_channel, std::chrono::milliseconds{1000},
                [this](pqxx::connection& c) { tick(c); }) {}

stream_hub::~stream_hub() { stop(); }

void stream_hub::start() { listener_.start(); }
void stream_hub::stop() { listener_.stop(); }

size_t stream_hub::subscribers() const {
  std::lock_guard<std::mutex> guard{mx_};
  return subs_.size();
}

http::stream_handle stream_hub::subscribe(std::optional<int64_t> after, http::ws_send_fn send,
                                          http::ws_close_fn close) {
  auto sub = std::make_shared<subscriber>();
  sub->send = std::move(send);
  sub->close = std::move(close);
  sub->after = after;
  uint64_t id;
  {
    std::lock_guard<std::mutex> guard{mx_};
    id = next_id_++;
    subs_.emplace(id, sub);
  }
  listener_.kick();  // hello and replay go out now, not at the next poll
  // Built in place: a temporary copy's destructor would unsubscribe at once.
  struct unsubscriber {
    unsubscriber(stream_hub* h, uint64_t i) : hub(h), id(i) {}
    unsubscriber(const unsubscriber&) = delete;
    unsubscriber& operator=(const unsubscriber&) = delete;
    ~unsubscriber() { hub->unsubscribe(id); }
    stream_hub* hub;
    uint64_t id;
  };
  return std::make_shared<unsubscriber>(this, id);
}

void stream_hub::unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> guard{mx_};
  subs_.erase(id);
}

void stream_hub::start_new(pqxx::connection& conn) {
  std::vector<std::shared_ptr<subscriber>> fresh;
  {
    std::lock_guard<std::mutex> guard{mx_};
    for (auto& [id, s] : subs_)
      if (!s->started) fresh.push_back(s);
  }
  for (auto& s : fresh) {
    s->send(json::serialize(json::object{{"type", "hello"}, {"stream_id", last_seen_}}));
    s->last_sent = last_seen_;
    if (s->after && *s->after < last_seen_) {
      // Rows up to last_seen_ now; everything above it comes with the live rows, in order.
      pqxx::nontransaction tx{conn};
      auto rows = tx.exec_params(rows_sql, *s->after, last_seen_, max_replay + 1);
      if (rows.size() > max_replay) {
        s->send(R"({"type":"reset"})");
      } else {
        for (const auto& r : rows) s->send(r[1].as<std::string>());
      }
    } else if (s->after) {
      s->last_sent = *s->after;  // ahead of us (e.g. our position lags): skip up to it
    }
    s->started = true;
  }
}

void stream_hub::tick(pqxx::connection& conn) {
  if (!positioned_) {
    pqxx::nontransaction tx{conn};
    last_seen_ =
        tx.exec("select coalesce(max(stream_id), 0) from incident_events")[0][0].as<int64_t>();
    positioned_ = true;
  }
  start_new(conn);
  std::vector<std::shared_ptr<subscriber>> live;
  {
    std::lock_guard<std::mutex> guard{mx_};
    for (auto& [id, s] : subs_)
      if (s->started) live.push_back(s);
  }
  // New rows are read even without subscribers: the position must stay current so a hello
  // tells the truth.
  for (;;) {
    pqxx::nontransaction tx{conn};
    auto rows =
        tx.exec_params(rows_sql, last_seen_, std::numeric_limits<int64_t>::max(), read_batch);
    for (const auto& r : rows) {
      auto id = r[0].as<int64_t>();
      auto text = r[1].as<std::string>();
      for (auto& s : live)
        if (s->last_sent < id) {
          s->send(text);
          s->last_sent = id;
        }
      last_seen_ = id;
    }
    if (rows.size() < static_cast<size_t>(read_batch)) break;
  }
  auto now = std::chrono::steady_clock::now();
  if (!live.empty() && now >= next_stats_) {
    next_stats_ = now + stats_every;
    pqxx::nontransaction tx{conn};
    json::object msg{{"type", "service.stats"},
                     {"at", iso_ms(std::chrono::system_clock::now())},
                     {"items", service_stats(tx)}};
    auto text = json::serialize(msg);
    for (auto& s : live) s->send(text);
  }
}

}  // namespace rtmon::api
