#pragma once

#include <string>

namespace rtmon {

/// Adds connect_timeout to a libpq connection string in either form (URI or key=value).
inline std::string with_connect_timeout(const std::string& url, int seconds) {
  auto t = std::to_string(seconds);
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0)
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" + t;
  return url + " connect_timeout=" + t;
}

}  // namespace rtmon
