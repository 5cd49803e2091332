#include "messages/levels.hpp"

#include <cctype>
#include <utility>

namespace rtmon {

std::string to_string(log_level l) {
  static const char* names[] = {"trace", "debug", "info", "warn", "error", "fatal"};
  return names[static_cast<size_t>(l)];
}

bool parse_log_level(std::string_view text, log_level& out) {
  char buf[16];
  if (text.size() >= sizeof(buf)) return false;
  size_t n = 0;
  for (unsigned char c : text) buf[n++] = static_cast<char>(std::tolower(c));
  std::string_view s(buf, n);
  static constexpr std::pair<std::string_view, log_level> table[] = {
      {"trace", log_level::trace},     {"debug", log_level::debug},
      {"info", log_level::info},       {"information", log_level::info},
      {"notice", log_level::info},     {"warn", log_level::warn},
      {"warning", log_level::warn},    {"error", log_level::error},
      {"err", log_level::error},       {"fatal", log_level::fatal},
      {"critical", log_level::fatal},  {"crit", log_level::fatal},
      {"alert", log_level::fatal},     {"emerg", log_level::fatal},
      {"emergency", log_level::fatal}, {"panic", log_level::fatal},
  };
  for (auto& [alias, level] : table)
    if (s == alias) {
      out = level;
      return true;
    }
  return false;
}

}  // namespace rtmon
