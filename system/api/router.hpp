// The API's route table: method + path pattern ("/api/incidents/{id}") -> route name. The table
// is the single list of what the API serves; a unit test checks it against openapi.json.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rtmon::api {

struct route {
  const char* method;   // GET, POST, DELETE
  const char* pattern;  // segments in braces capture one path segment
  const char* name;     // the handler's key, e.g. "incidents.list"
};

/// Every route the API serves (the WebSocket stream included: GET /api/stream).
const std::vector<route>& routes();

struct match_result {
  enum { found, wrong_method, not_found } status = not_found;
  const route* r = nullptr;
  std::map<std::string, std::string> captures;  // percent-decoded
  std::string allow;                            // for wrong_method: "GET, POST"
};

/// Matches an encoded path (no query) against the table.
match_result match(std::string_view method, std::string_view encoded_path);

/// Percent-decodes one path segment; false for malformed escapes or a decoded '/' or NUL.
bool decode_segment(std::string_view in, std::string& out);

}  // namespace rtmon::api
