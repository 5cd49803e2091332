#include "system/api/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/beast/http.hpp>

#include "system/api/router.hpp"

namespace rtmon::api {

namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;

namespace {

constexpr const char* not_built_page = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtmon</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>rtmon is running, but the web UI is not built</h1>
<p>Build it once with <code>npm --prefix ui ci &amp;&amp; npm --prefix ui run build</code>
(it lands in <code>ui/dist</code>), or point <code>[api] ui-dir</code> / <code>RTMON_UI_DIR</code>
at a built copy, then reload this page.</p>
<p>The API works without it: <a href="/api/openapi.json">/api/openapi.json</a>,
<a href="/api/incidents">/api/incidents</a>, <a href="/readyz">/readyz</a>.</p>
</body></html>
)";

http::response text_response(unsigned status, std::string body, const std::string& type,
                             bool keep_alive) {
  http::response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::server, "rtmon");
  res.set(bhttp::field::content_type, type);
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace

std::optional<std::string> sanitize_path(std::string_view encoded_path) {
  if (encoded_path.empty() || encoded_path[0] != '/') return std::nullopt;
  std::string out;
  size_t start = 1;
  while (start <= encoded_path.size()) {
    auto end = encoded_path.find('/', start);
    if (end == std::string_view::npos) end = encoded_path.size();
    auto seg = encoded_path.substr(start, end - start);
    start = end + 1;
    if (seg.empty()) continue;  // "//" and a trailing "/"
    std::string dec;
    if (!decode_segment(seg, dec)) return std::nullopt;
    if (dec == "." || dec == ".." || dec.find('\\') != std::string::npos) return std::nullopt;
    if (!out.empty()) out += '/';
    out += dec;
  }
  if (out.empty()) out = "index.html";
  return out;
}

std::string content_type_for(std::string_view file) {
  auto dot = file.rfind('.');
  auto ext = dot == std::string_view::npos ? std::string{} : std::string{file.substr(dot + 1)};
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<const char*, const char*> types[] = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"txt", "text/plain; charset=utf-8"},
      {"webmanifest", "application/manifest+json"},
      {"wasm", "application/wasm"},
  };
  for (const auto& [e, t] : types)
    if (ext == e) return t;
  return "application/octet-stream";
}

bool looks_like_route(std::string_view relative) {
  auto slash = relative.rfind('/');
  auto last = slash == std::string_view::npos ? relative : relative.substr(slash + 1);
  return last.find('.') == std::string_view::npos;
}

static_files::static_files(std::string root) : configured_(std::move(root)) {
  std::error_code ec;
  auto canon = fs::canonical(configured_, ec);
  if (!ec) root_ = canon.string();
}

http::response static_files::file_response(const std::string& full, const std::string& rel,
                                           bool head, bool keep_alive) const {
  std::ifstream in{full, std::ios::binary};
  std::stringstream buf;
  buf << in.rdbuf();
  auto res =
      text_response(200, head ? std::string{} : buf.str(), content_type_for(rel), keep_alive);
  // Vite names assets by content hash: they never change under the same name.
  if (rel.rfind("assets/", 0) == 0)
    res.set(bhttp::field::cache_control, "public, max-age=31536000, immutable");
  else
    res.set(bhttp::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  if (head) res.content_length(buf.str().size());
  return res;
}

http::response static_files::serve(std::string_view encoded_path, bool head, bool keep_alive,
                                   bool wants_html) const {
  auto rel = sanitize_path(encoded_path);
  if (!rel)
    return http::json_response(400, R"({"error":"path: not a valid file path"})", keep_alive);
  // "/" and extension-less paths are pages: only for browsers (see the header).
  bool page =
      encoded_path.find_first_not_of('/') == std::string_view::npos || looks_like_route(*rel);
  if (page && !wants_html)
    return http::json_response(
        404, R"({"error":"no such endpoint: )" + std::string{encoded_path} + "\"}", keep_alive);
  auto index = root_.empty() ? fs::path{} : fs::path{root_} / "index.html";
  std::error_code ec;
  bool built = !root_.empty() && fs::is_regular_file(index, ec);
  if (!root_.empty()) {
    auto candidate = fs::weakly_canonical(fs::path{root_} / *rel, ec);
    auto s = candidate.string();
    // Symlinks may point anywhere: the resolved file must still be under the root.
    if (!ec && s.rfind(root_ + "/", 0) == 0 && fs::is_regular_file(candidate, ec))
      return file_response(s, *rel, head, keep_alive);
  }
  if (*rel != "index.html" && !looks_like_route(*rel))
    return http::json_response(404, R"({"error":"no such file"})", keep_alive);
  if (!built) {
    auto res = text_response(*rel == "index.html" ? 200 : 404, head ? "" : not_built_page,
                             "text/html; charset=utf-8", keep_alive);
    res.set(bhttp::field::cache_control, "no-cache");
    return res;
  }
  // A client-side route (/incidents/123): the app's entry page, which routes in the browser.
  return file_response(index.string(), "index.html", head, keep_alive);
}

}  // namespace rtmon::api
