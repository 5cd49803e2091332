#define CAF_SUITE api_static
#include <filesystem>
#include <fstream>
#include <string>

#include "system/api/static_files.hpp"
#include "test/unit/test.hpp"

using namespace rtmon::api;
namespace fs = std::filesystem;

CAF_TEST(request paths become relative file paths or are refused) {
  CAF_CHECK_EQUAL(*sanitize_path("/"), "index.html");
  CAF_CHECK_EQUAL(*sanitize_path("/assets/app-1.js"), "assets/app-1.js");
  CAF_CHECK_EQUAL(*sanitize_path("//assets//x.css/"), "assets/x.css");
  CAF_CHECK_EQUAL(*sanitize_path("/a%20b.txt"), "a b.txt");
  for (auto bad : {"/..", "/../etc/passwd", "/assets/../../x", "/%2e%2e/x", "/%2E%2E/x", "/./x",
                   "/a%2f..%2fb", "/a%5c..%5cb", "/a\\b", "/a%00b", "/a%zz", "relative", ""})
    if (sanitize_path(bad)) CAF_FAIL("accepted " << bad);
}

CAF_TEST(content types and route detection) {
  CAF_CHECK_EQUAL(content_type_for("assets/a.js"), "text/javascript; charset=utf-8");
  CAF_CHECK_EQUAL(content_type_for("index.html"), "text/html; charset=utf-8");
  CAF_CHECK_EQUAL(content_type_for("assets/a.CSS"), "text/css; charset=utf-8");
  CAF_CHECK_EQUAL(content_type_for("f.woff2"), "font/woff2");
  CAF_CHECK_EQUAL(content_type_for("noext"), "application/octet-stream");
  CAF_CHECK(looks_like_route("incidents/0193a1b2-c3d4"));
  CAF_CHECK(looks_like_route("services"));
  CAF_CHECK(!looks_like_route("assets/app.js"));
  CAF_CHECK(!looks_like_route("favicon.ico"));
}

CAF_TEST(files are served with caching headers and routes fall back to index) {
  auto root = fs::temp_directory_path() / ("rtmon-ui-" + std::to_string(::getpid()));
  fs::create_directories(root / "dist" / "assets");
  std::ofstream{root / "dist" / "index.html"} << "<html>app</html>";
  std::ofstream{root / "dist" / "assets" / "a-1.js"} << "js";
  std::ofstream{root / "secret.txt"} << "secret";
  fs::create_symlink(root / "secret.txt", root / "dist" / "link.txt");
  static_files ui{(root / "dist").string()};
  auto res = ui.serve("/assets/a-1.js", false, true, true);
  CAF_CHECK_EQUAL(res.result_int(), 200u);
  CAF_CHECK_EQUAL(res.body(), "js");
  CAF_CHECK(std::string{res["Cache-Control"]}.find("immutable") != std::string::npos);
  res = ui.serve("/", false, true, true);
  CAF_CHECK_EQUAL(res.body(), "<html>app</html>");
  CAF_CHECK_EQUAL(std::string{res["Cache-Control"]}, "no-cache");
  res = ui.serve("/incidents/42", false, true, true);
  CAF_CHECK_EQUAL(res.body(), "<html>app</html>");
  CAF_CHECK_EQUAL(ui.serve("/assets/nope.js", false, true, true).result_int(), 404u);
  CAF_CHECK_EQUAL(ui.serve("/../secret.txt", false, true, true).result_int(), 400u);
  // A symlink out of the UI directory is not followed.
  res = ui.serve("/link.txt", false, true, true);
  CAF_CHECK(res.body() != "secret");
  static_files none{(root / "missing").string()};
  res = none.serve("/incidents", false, true, false);  // not a browser: the API's JSON 404
  CAF_CHECK_EQUAL(res.result_int(), 404u);
  CAF_CHECK_EQUAL(res.body(), R"({"error":"no such endpoint: /incidents"})");
  res = none.serve("/", false, true, true);
  CAF_CHECK_EQUAL(res.result_int(), 200u);
  CAF_CHECK(res.body().find("not built") != std::string::npos);
  fs::remove_all(root);
}
