#define CAF_SUITE api_router
#include <set>
#include <string>

#include <boost/json.hpp>

#include "system/api/router.hpp"
#include "system/api/service.hpp"
#include "test/unit/test.hpp"

using namespace rtmon::api;

CAF_TEST(paths match their route and capture decoded segments) {
  auto m = match("GET", "/api/incidents");
  CAF_REQUIRE(m.status == match_result::found);
  CAF_CHECK_EQUAL(std::string{m.r->name}, "incidents.list");
  m = match("POST", "/api/incidents/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/acknowledge");
  CAF_REQUIRE(m.status == match_result::found);
  CAF_CHECK_EQUAL(std::string{m.r->name}, "incidents.acknowledge");
  CAF_CHECK_EQUAL(m.captures["id"], "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
  m = match("GET", "/api/services/pay%20ments/series");
  CAF_REQUIRE(m.status == match_result::found);
  CAF_CHECK_EQUAL(m.captures["service"], "pay ments");
  m = match("DELETE", "/api/silences/abc");
  CAF_CHECK_EQUAL(std::string{m.r->name}, "silences.delete");
}

CAF_TEST(wrong methods list the allowed ones and unknown paths are not found) {
  auto m = match("PUT", "/api/silences");
  CAF_CHECK(m.status == match_result::wrong_method);
  CAF_CHECK_EQUAL(m.allow, "GET, POST");
  CAF_CHECK(match("GET", "/api/incidents/").status == match_result::not_found);
  CAF_CHECK(match("GET", "/api/incidents/a/b/c").status == match_result::not_found);
  CAF_CHECK(match("GET", "/api/services//series").status == match_result::not_found);
  CAF_CHECK(match("GET", "/api").status == match_result::not_found);
  // An encoded slash never splits a segment differently than the client meant.
  CAF_CHECK(match("GET", "/api/services/a%2Fb/series").status == match_result::not_found);
  CAF_CHECK(match("GET", "/api/services/a%zz/series").status == match_result::not_found);
}

CAF_TEST(the openapi document describes exactly the routes served) {
  auto doc = boost::json::parse(openapi_document());
  CAF_CHECK_EQUAL(std::string{doc.at("openapi").as_string().c_str()}.substr(0, 3), "3.0");
  std::set<std::string> documented, served;
  for (const auto& [path, ops] : doc.at("paths").as_object())
    for (const auto& [method, op] : ops.as_object()) {
      std::string m{method};
      for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (m == "GET" || m == "POST" || m == "DELETE" || m == "PUT" || m == "PATCH")
        documented.insert(m + " " + std::string{path});
    }
  for (const auto& r : routes()) served.insert(std::string{r.method} + " " + r.pattern);
  for (const auto& d : documented)
    if (!served.count(d)) CAF_FAIL("documented but not served: " << d);
  for (const auto& s : served)
    if (!documented.count(s)) CAF_FAIL("served but not documented: " << s);
  CAF_CHECK_EQUAL(documented.size(), served.size());
}
