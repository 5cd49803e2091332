// The shared reading of a notification and the phrasing every channel uses.
#include "system/notify/render_view.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "system/ingest/items.hpp"
#include "system/notify/render.hpp"

namespace rtmon::notify::detail {

// Numbers as people write them ("0.12", not boost's "1.2E-1").
std::string number_text(const json::value& v) {
  char buf[64];
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  std::snprintf(buf, sizeof(buf), "%.6g", v.get_double());
  return buf;
}

std::string text_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return {};
  const auto& v = it->value();
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_number()) return number_text(v);
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  return json::serialize(v);
}

// "k=v, k2=v2"
std::string pairs_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return {};
  std::string out;
  for (const auto& kv : it->value().get_object()) {
    if (!out.empty()) out += ", ";
    out += std::string(kv.key()) + "=" + text_of(it->value().get_object(), kv.key());
  }
  return out;
}

view read(const channel& ch, const notification& n) {
  view v;
  json::error_code ec;
  auto parsed = json::parse(n.payload, ec);
  if (!ec && parsed.is_object()) v.t = std::move(parsed.get_object());
  const auto& t = v.t;
  v.incident_id = n.incident_id.empty() ? text_of(t, "incident_id") : n.incident_id;
  v.event = n.event.empty() ? text_of(t, "kind") : n.event;
  v.rule = text_of(t, "rule");
  v.service = text_of(t, "service");
  v.severity = text_of(t, "severity");
  v.status = text_of(t, "status");
  v.summary = text_of(t, "summary");
  v.detail = text_of(t, "detail");
  v.actor = text_of(t, "actor");
  v.at = text_of(t, "at");
  v.opened_at = text_of(t, "opened_at");
  v.fingerprint = text_of(t, "fingerprint");
  v.seq = text_of(t, "seq");
  if (v.seq.empty() && n.seq != 0) v.seq = std::to_string(n.seq);
  v.value = text_of(t, "value");
  v.breach_count = text_of(t, "breach_count");
  v.labels = pairs_of(t, "labels");
  v.group = pairs_of(t, "group");
  v.url = incident_url(ch.ui_base_url, v.incident_id);
  return v;
}

bool parse_iso(const std::string& iso, int64_t& unix_ms) {
  if (iso.empty()) return false;
  ingest::sys_time tp;
  std::string problem;
  if (!ingest::parse_timestamp(json::value(iso), tp, problem)) return false;
  unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  return true;
}

// "2023-11-14 22:13:20 UTC"; the text itself when it is not a time.
std::string pretty_time(const std::string& iso) {
  int64_t ms = 0;
  if (!parse_iso(iso, ms)) return iso;
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// "45s", "14m", "2h 5m", "3d 4h".
std::string duration_text(int64_t ms) {
  int64_t s = ms / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) + "m";
  return std::to_string(s / 86400) + "d " + std::to_string(s % 86400 / 3600) + "h";
}

std::string upper(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// Someone did it (not rtmon itself): "by alice" is worth saying.
bool by_person(const view& v) { return !v.actor.empty() && v.actor != "rtmon"; }

// What happened, in capitals: "TRIGGERED", "ACKNOWLEDGED by alice", "RESOLVED after 14m".
std::string headline(const view& v) {
  const auto& e = v.event;
  if (e == "acknowledged") return by_person(v) ? "ACKNOWLEDGED by " + v.actor : "ACKNOWLEDGED";
  if (e == "resolved") {
    if (by_person(v)) return "RESOLVED by " + v.actor;
    int64_t from = 0, to = 0;
    if (parse_iso(v.opened_at, from) && parse_iso(v.at, to) && to >= from)
      return "RESOLVED after " + duration_text(to - from);
    return "RESOLVED";
  }
  if (e == "renotify") return "STILL FIRING";
  return upper(e.empty() ? std::string("notification") : e);
}

// "high-error-rate on api"
std::string title(const view& v) {
  auto rule = v.rule.empty() ? std::string("incident ") + v.incident_id : v.rule;
  return v.service.empty() ? rule : rule + " on " + v.service;
}

// Follow-ups where the detail is the value against the threshold rather than an action.
bool tells_value(const view& v) {
  return v.event == "triggered" || v.event == "renotify" || v.event == "flapping";
}

}  // namespace rtmon::notify::detail
