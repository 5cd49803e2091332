#include "system/api/command_waiter.hpp"

#include <pqxx/nontransaction>

#include "system/api/service.hpp"
#include "system/pg/channels.hpp"

namespace rtmon::api {

command_waiter::command_waiter(std::string url)
    : listener_(
          "command waiter", std::move(url), pg::commands_channel, std::chrono::milliseconds{200},
          [this](pqxx::connection& c) { tick(c); }, [this] { expire(); }) {}

void command_waiter::expire() {
  std::vector<done_fn> late;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> guard{mx_};
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (now >= it->second.deadline) {
        late.push_back(std::move(it->second.done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& done : late) done({});
}

void command_waiter::start() { listener_.start(); }

void command_waiter::stop() {
  listener_.stop();
  std::multimap<std::string, waiter> left;
  {
    std::lock_guard<std::mutex> guard{mx_};
    left.swap(waiters_);
  }
  for (auto& [id, w] : left) w.done({});  // timed out: the client hears 202 (still pending)
}

void command_waiter::wait(const std::string& command_id, std::chrono::milliseconds timeout,
                          done_fn done) {
  {
    std::lock_guard<std::mutex> guard{mx_};
    waiters_.emplace(command_id,
                     waiter{std::chrono::steady_clock::now() + timeout, std::move(done)});
  }
  listener_.kick();  // it may be done already (a fast owner): look now
}

void command_waiter::tick(pqxx::connection& conn) {
  std::string ids;
  {
    std::lock_guard<std::mutex> guard{mx_};
    if (waiters_.empty()) return;
    for (auto it = waiters_.begin(); it != waiters_.end(); it = waiters_.upper_bound(it->first))
      ids += (ids.empty() ? "" : ",") + it->first;
  }
  std::map<std::string, command_outcome> settled;
  {
    pqxx::nontransaction tx{conn};
    auto rows = tx.exec_params(
        "select c.id::text, c.status, coalesce(c.error, ''), coalesce(c.seq, 0),"
        " rtmon_incident_json(i)::text"
        " from commands c join incidents i on i.id = c.incident_id"
        " where c.id = any(string_to_array($1, ',')::uuid[]) and c.status <> 'pending'",
        ids);
    for (const auto& r : rows) {
      command_outcome o;
      o.kind = r[1].as<std::string>() == "done" ? command_outcome::done : command_outcome::rejected;
      o.error = r[2].as<std::string>();
      o.seq = r[3].as<int64_t>();
      o.incident = parse_json(r[4].as<std::string>());
      settled.emplace(r[0].as<std::string>(), std::move(o));
    }
  }
  std::vector<std::pair<done_fn, command_outcome>> ready;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> guard{mx_};
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      auto s = settled.find(it->first);
      if (s != settled.end()) {
        ready.emplace_back(std::move(it->second.done), s->second);
      } else if (now >= it->second.deadline) {
        ready.emplace_back(std::move(it->second.done), command_outcome{});
      } else {
        ++it;
        continue;
      }
      it = waiters_.erase(it);
    }
  }
  for (auto& [done, o] : ready) done(std::move(o));
}

}  // namespace rtmon::api
