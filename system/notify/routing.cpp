#include "system/notify/routing.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json.hpp>

#include "actors/rule/rules.hpp"

namespace rtmon::notify {

namespace json = boost::json;

namespace {

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

// "where: problem" errors, thrown while parsing and caught by parse_routing.
struct bad : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const json::object& object_at(const json::value& v, const std::string& where) {
  if (!v.is_object()) throw bad(where + ": must be an object");
  return v.get_object();
}

std::vector<std::string> strings(const json::object& o, const char* key, const std::string& where) {
  std::vector<std::string> out;
  auto i = o.find(key);
  if (i == o.end()) return out;
  auto one = [&](const json::value& v) {
    if (!v.is_string()) throw bad(where + "." + key + ": must be strings");
    out.emplace_back(v.get_string());
  };
  if (i->value().is_array())
    for (const auto& v : i->value().get_array()) one(v);
  else
    one(i->value());  // a single string is a list of one
  return out;
}

int64_t duration(const json::object& o, const char* key, const std::string& where) {
  auto i = o.find(key);
  if (i == o.end()) return 0;
  int64_t ms = 0;
  if (!i->value().is_string() || !parse_duration(i->value().get_string(), ms) || ms < 0)
    throw bad(where + "." + key + ": must be a duration like \"30s\", \"4h\"");
  return ms;
}

double number(const json::object& o, const char* key, double dflt, const std::string& where) {
  auto i = o.find(key);
  if (i == o.end()) return dflt;
  if (!i->value().is_number()) throw bad(where + "." + key + ": must be a number");
  return i->value().to_number<double>();
}

// A string field given literally, as `key_env` or as `key_file`.
std::string secret(const json::object& o, const std::string& key, const env_lookup& env,
                   const std::string& where) {
  if (auto i = o.find(key); i != o.end()) {
    if (!i->value().is_string()) throw bad(where + "." + key + ": must be a string");
    return std::string{i->value().get_string()};
  }
  if (auto i = o.find(key + "_env"); i != o.end()) {
    if (!i->value().is_string()) throw bad(where + "." + key + "_env: must be a string");
    return env(std::string{i->value().get_string()});
  }
  if (auto i = o.find(key + "_file"); i != o.end()) {
    if (!i->value().is_string()) throw bad(where + "." + key + "_file: must be a string");
    std::ifstream f{std::string{i->value().get_string()}};
    std::string line;
    if (!f || !std::getline(f, line))
      throw bad(where + "." + key + "_file: cannot read " + std::string{i->value().get_string()});
    return line;
  }
  return {};
}

// The variable or file a missing address would come from, for the "disabled" note.
std::string source_of(const json::object& o, const std::string& key) {
  if (auto i = o.find(key + "_env"); i != o.end() && i->value().is_string())
    return std::string{i->value().get_string()} + " is not set";
  if (auto i = o.find(key + "_file"); i != o.end() && i->value().is_string())
    return std::string{i->value().get_string()} + " is empty";
  return "no " + key;
}

void check_keys(const json::object& o, std::initializer_list<const char*> allowed,
                const std::string& where) {
  for (const auto& kv : o) {
    std::string k{kv.key()};
    bool ok = false;
    for (auto a : allowed) {
      std::string base{a};
      ok |= k == base || k == base + "_env" || k == base + "_file";
    }
    if (!ok) throw bad(where + ": unknown field '" + k + "'");
  }
}

channel parse_channel(const std::string& name, const json::value& v, const env_lookup& env,
                      std::vector<std::string>& disabled, bool& enabled) {
  auto where = "channels." + name;
  const auto& o = object_at(v, where);
  check_keys(o,
             {"kind", "url", "to", "from", "user", "password", "require_tls", "headers",
              "timeout_ms", "rate_per_s", "burst"},
             where);
  channel c;
  c.name = name;
  auto kind = o.find("kind");
  if (kind == o.end() || !kind->value().is_string() ||
      !parse_channel_kind(std::string{kind->value().get_string()}, c.kind))
    throw bad(where + ".kind: must be slack, email or webhook");
  c.url = secret(o, "url", env, where);
  c.to = strings(o, "to", where);
  if (auto i = o.find("to_env"); i != o.end() && i->value().is_string()) {
    std::stringstream list{env(std::string{i->value().get_string()})};
    for (std::string a; std::getline(list, a, ',');)
      if (!a.empty()) c.to.push_back(a);
  }
  c.from = secret(o, "from", env, where);
  c.user = secret(o, "user", env, where);
  c.password = secret(o, "password", env, where);
  c.headers = strings(o, "headers", where);
  if (auto i = o.find("require_tls"); i != o.end()) {
    if (!i->value().is_bool()) throw bad(where + ".require_tls: must be true or false");
    c.require_tls = i->value().get_bool();
  }
  c.timeout_ms = static_cast<int>(number(o, "timeout_ms", c.timeout_ms, where));
  c.rate_per_s = number(o, "rate_per_s", c.kind == channel_kind::slack ? 1 : 10, where);
  c.burst = static_cast<int>(number(o, "burst", c.burst, where));
  if (c.timeout_ms < 100 || c.timeout_ms > 120000)
    throw bad(where + ".timeout_ms: must be in 100..120000");
  if (c.rate_per_s <= 0 || c.rate_per_s > 1000)
    throw bad(where + ".rate_per_s: must be in (0, 1000]");
  if (c.burst < 1 || c.burst > 1000) throw bad(where + ".burst: must be in 1..1000");
  enabled = !c.url.empty();
  if (!enabled) {
    disabled.push_back(name + ": " + source_of(o, "url"));
    return c;
  }
  auto scheme = c.url.substr(0, c.url.find("://"));
  if (c.kind == channel_kind::email) {
    if (scheme != "smtp" && scheme != "smtps")
      throw bad(where + ".url: must be smtp:// or smtps://");
    if (c.to.empty()) throw bad(where + ".to: an email channel needs recipients");
    if (c.from.empty())
      throw bad(where + ".from: an email channel needs a sender (RTMON_EMAIL_FROM)");
  } else if (scheme != "http" && scheme != "https") {
    // Not echoed: the URL is a secret.
    throw bad(where + ".url: must be an http:// or https:// URL");
  }
  return c;
}

route parse_route(size_t n, const json::value& v, const std::map<std::string, bool>& known) {
  auto where = "routes[" + std::to_string(n) + "]";
  const auto& o = object_at(v, where);
  for (const auto& kv : o) {
    std::string k{kv.key()};
    if (k != "match" && k != "channels" && k != "events" && k != "renotify_every" &&
        k != "group_wait" && k != "group_by" && k != "notify_resolved" && k != "stop")
      throw bad(where + ": unknown field '" + k + "'");
  }
  route r;
  if (auto m = o.find("match"); m != o.end()) {
    auto mw = where + ".match";
    const auto& mo = object_at(m->value(), mw);
    for (const auto& kv : mo) {
      std::string k{kv.key()};
      if (k != "service" && k != "rule" && k != "severity" && k != "labels")
        throw bad(mw + ": unknown field '" + k + "'");
    }
    r.match.services = strings(mo, "service", mw);
    r.match.rules = strings(mo, "rule", mw);
    r.match.severities = strings(mo, "severity", mw);
    for (const auto& s : r.match.severities)
      if (s != "info" && s != "warning" && s != "critical")
        throw bad(mw + ".severity: '" + s + "' is not info, warning or critical");
    if (auto l = mo.find("labels"); l != mo.end())
      for (const auto& kv : object_at(l->value(), mw + ".labels")) {
        if (!kv.value().is_string()) throw bad(mw + ".labels: values must be strings");
        r.match.labels[std::string{kv.key()}] = std::string{kv.value().get_string()};
      }
  }
  r.channels = strings(o, "channels", where);
  if (r.channels.empty()) throw bad(where + ".channels: name at least one channel");
  for (const auto& c : r.channels)
    if (!known.count(c)) throw bad(where + ".channels: unknown channel '" + c + "'");
  if (o.contains("events")) r.events = strings(o, "events", where);
  if (auto i = o.find("notify_resolved"); i != o.end()) {
    if (!i->value().is_bool()) throw bad(where + ".notify_resolved: must be true or false");
    if (!i->value().get_bool())
      r.events.erase(std::remove(r.events.begin(), r.events.end(), "resolved"), r.events.end());
  }
  if (auto i = o.find("stop"); i != o.end()) {
    if (!i->value().is_bool()) throw bad(where + ".stop: must be true or false");
    r.stop = i->value().get_bool();
  }
  r.renotify_ms = duration(o, "renotify_every", where);
  if (r.renotify_ms != 0 && r.renotify_ms < 1000)
    throw bad(where + ".renotify_every: must be at least 1s");
  r.group_wait_ms = duration(o, "group_wait", where);
  r.group_by = strings(o, "group_by", where);
  for (const auto& g : r.group_by)
    if (g.empty() || g.size() > 200)
      throw bad(where + ".group_by: names must be 1..200 characters");
  if (!r.group_by.empty() && r.group_wait_ms == 0)
    throw bad(where + ".group_by: needs a group_wait (grouping waits for the group's members)");
  return r;
}

// The value of `k` in a JSON object's text (strings as they are, others as JSON); false when
// it is not there.
bool label_value(const std::string& json_object, const std::string& k, std::string& out) {
  json::error_code ec;
  auto parsed = json::parse(json_object, ec);
  if (ec || !parsed.is_object()) return false;
  auto i = parsed.get_object().find(k);
  if (i == parsed.get_object().end()) return false;
  out = i->value().is_string() ? std::string{i->value().get_string()} : json::serialize(i->value());
  return true;
}

bool label_matches(const std::string& json_object, const std::string& k, const std::string& v) {
  std::string actual;
  return label_value(json_object, k, actual) && actual == v;
}

// '|' and '%' as %7C and %25, so the key's parts never run into each other.
std::string key_part(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? "%7C" : c == '%' ? "%25" : std::string(1, c);
  return out;
}

// "<route>|<channel>|service=api|host=a": the incident's values of the route's group_by names
// (a name that is neither a field nor a label or group value has an empty value).
// group_values() reads the parts after the channel back.
std::string group_key(size_t route_index, const route& rt, const channel& c,
                      const incident_record& r) {
  auto key = std::to_string(route_index) + "|" + key_part(c.name);
  for (const auto& name : rt.group_by) {
    std::string v;
    if (name == "service")
      v = r.service;
    else if (name == "rule")
      v = r.rule;
    else if (name == "severity")
      v = r.severity;
    else if (!label_value(r.group, name, v))
      label_value(r.labels, name, v);
    key += "|" + key_part(name) + "=" + key_part(v);
  }
  return key;
}

}  // namespace

std::string group_values(const std::string& key) {
  // The parts after the second bar, unescaped (key_part).
  std::string out;
  size_t bars = 0;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (c == '|') {
      if (++bars > 2) out += ", ";
    } else if (bars >= 2) {
      if (c == '%' && i + 2 < key.size()) {
        out += static_cast<char>(std::stoi(key.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += c;
      }
    }
  }
  return out;
}

bool route_match::matches(const incident_record& r) const {
  if (!services.empty() && !contains(services, r.service)) return false;
  if (!rules.empty() && !contains(rules, r.rule)) return false;
  if (!severities.empty() && !contains(severities, r.severity)) return false;
  for (const auto& [k, v] : labels)
    if (!label_matches(r.labels, k, v) && !label_matches(r.group, k, v)) return false;
  return true;
}

const channel* routing::find(const std::string& name) const {
  auto i = channels.find(name);
  return i == channels.end() ? nullptr : &i->second;
}

std::vector<route_hit> routing::route_transition(const incident_record& r,
                                                 const incident_transition& t) const {
  std::vector<route_hit> out;
  if (!t.notify) return out;
  for (size_t ri = 0; ri < routes.size(); ++ri) {
    const auto& rt = routes[ri];
    if (!rt.match.matches(r)) continue;
    if (contains(rt.events, t.kind))
      for (const auto& name : rt.channels) {
        const auto* c = find(name);
        bool seen =
            std::any_of(out.begin(), out.end(), [&](const route_hit& h) { return h.target == c; });
        if (!c || seen) continue;
        // Only the first alert of an incident waits for its group; follow-ups go at once.
        route_hit hit{c, t.kind == "triggered" ? rt.group_wait_ms : 0, {}};
        if (hit.delay_ms > 0 && c->kind != channel_kind::webhook)
          hit.group_key = group_key(ri, rt, *c, r);
        out.push_back(std::move(hit));
      }
    if (rt.stop) break;
  }
  return out;
}

std::vector<std::pair<const channel*, int64_t>> routing::renotify(const incident_record& r) const {
  std::vector<std::pair<const channel*, int64_t>> out;
  for (const auto& rt : routes) {
    if (!rt.match.matches(r)) continue;
    if (rt.renotify_ms > 0)
      for (const auto& name : rt.channels) {
        const auto* c = find(name);
        if (!c) continue;
        auto i = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == c; });
        if (i == out.end())
          out.emplace_back(c, rt.renotify_ms);
        else
          i->second = std::min(i->second, rt.renotify_ms);
      }
    if (rt.stop) break;
  }
  return out;
}

std::string process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? std::string{v} : std::string{};
}

bool parse_routing(const std::string& text, const env_lookup& env, routing& out,
                   std::string& error) {
  try {
    json::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) throw bad("not valid JSON: " + ec.message());
    const auto& o = object_at(v, "notifications");
    for (const auto& kv : o) {
      std::string k{kv.key()};
      if (k != "channels" && k != "routes") throw bad("unknown top-level field '" + k + "'");
    }
    routing r;
    std::map<std::string, bool> known;  // every configured channel, enabled or not
    if (auto c = o.find("channels"); c != o.end())
      for (const auto& kv : object_at(c->value(), "channels")) {
        std::string name{kv.key()};
        if (name.empty() || name.size() > 64) throw bad("channels: names must be 1..64 characters");
        bool enabled = false;
        auto ch = parse_channel(name, kv.value(), env, r.disabled, enabled);
        known[name] = enabled;
        if (enabled) r.channels.emplace(name, std::move(ch));
      }
    if (auto rs = o.find("routes"); rs != o.end()) {
      if (!rs->value().is_array()) throw bad("routes: must be an array");
      size_t n = 0;
      for (const auto& x : rs->value().get_array()) r.routes.push_back(parse_route(n++, x, known));
    }
    out = std::move(r);
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

routing_ptr load_routing(const std::string& path, const env_lookup& env) {
  auto out = std::make_shared<routing>();
  if (path.empty()) return out;
  std::ifstream f{path};
  if (!f) throw std::runtime_error("notifications file " + path + ": cannot be read");
  std::stringstream buf;
  buf << f.rdbuf();
  std::string error;
  if (!parse_routing(buf.str(), env, *out, error))
    throw std::runtime_error("notifications file " + path + ": " + error);
  return out;
}

}  // namespace rtmon::notify
