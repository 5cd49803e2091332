// The built web UI (ui/dist) served as static files: content types, caching (hashed assets are
// immutable, index.html is revalidated), no path traversal, and the single-page-app fallback.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "system/http/server.hpp"

namespace rtmon::api {

/// A request path (encoded, no query) to a relative file path under the UI directory, or
/// nullopt when it must be refused: `..` or `.` segments, backslashes, NUL, bad escapes.
/// "/" -> "index.html".
std::optional<std::string> sanitize_path(std::string_view encoded_path);

/// "text/javascript; charset=utf-8", ... by file extension.
std::string content_type_for(std::string_view file);

/// True for paths that look like UI routes (no file extension in the last segment).
bool looks_like_route(std::string_view relative);

class static_files {
 public:
  explicit static_files(std::string root);
  /// Answers GET/HEAD `encoded_path` from the UI directory. Pages ("/" and extension-less
  /// routes) are served only to requests that accept text/html (browsers navigating); other
  /// clients get the JSON 404 of an unknown endpoint, as before the UI existed.
  http::response serve(std::string_view encoded_path, bool head, bool keep_alive,
                       bool wants_html) const;

 private:
  http::response file_response(const std::string& full, const std::string& rel, bool head,
                               bool keep_alive) const;
  std::string root_;  // canonical, without a trailing slash ("" if it does not exist)
  std::string configured_;
};

}  // namespace rtmon::api
