#include "system/api/router.hpp"

namespace rtmon::api {

namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;  // paths start with '/'
  if (path.empty() || path[0] != '/') return out;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const std::vector<route>& routes() {
  static const std::vector<route> all{
      {"GET", "/api/incidents", "incidents.list"},
      {"GET", "/api/incidents/{id}", "incidents.get"},
      {"POST", "/api/incidents/{id}/acknowledge", "incidents.acknowledge"},
      {"POST", "/api/incidents/{id}/resolve", "incidents.resolve"},
      {"POST", "/api/incidents/{id}/notes", "incidents.notes"},
      {"GET", "/api/services", "services.list"},
      {"GET", "/api/services/{service}/series", "services.series"},
      {"GET", "/api/logs", "logs.list"},
      {"GET", "/api/events", "events.list"},
      {"GET", "/api/rules", "rules.list"},
      {"GET", "/api/silences", "silences.list"},
      {"POST", "/api/silences", "silences.create"},
      {"GET", "/api/silences/{id}", "silences.get"},
      {"DELETE", "/api/silences/{id}", "silences.delete"},
      {"GET", "/api/stream", "stream"},
      {"GET", "/api/openapi.json", "openapi"},
  };
  return all;
}

bool decode_segment(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '/' || c == '\0') return false;
      i += 2;
    }
    out += c;
  }
  return true;
}

match_result match(std::string_view method, std::string_view encoded_path) {
  match_result res;
  auto parts = split(encoded_path);
  for (const auto& r : routes()) {
    auto pattern = split(r.pattern);
    if (pattern.size() != parts.size()) continue;
    std::map<std::string, std::string> caps;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      auto p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        std::string value;
        ok = !parts[i].empty() && decode_segment(parts[i], value);
        if (ok) caps[std::string{p.substr(1, p.size() - 2)}] = std::move(value);
      } else {
        ok = p == parts[i];
      }
    }
    if (!ok) continue;
    if (method == r.method) {
      res.status = match_result::found;
      res.r = &r;
      res.captures = std::move(caps);
      return res;
    }
    res.status = match_result::wrong_method;
    if (!res.allow.empty()) res.allow += ", ";
    res.allow += r.method;
  }
  return res;
}

}  // namespace rtmon::api
