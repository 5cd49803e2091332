#pragma once
// Shared by the rule suites: rules (parsing) and rules_eval (evaluation).
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "actors/rule/rules.hpp"
#include "test/unit/test.hpp"

namespace rtmon::test_rules {

// The repo root, from this file's path (test/unit/rules_fixture.hpp).
inline std::string repo_root() {
  std::string f = __FILE__;
  auto pos = f.rfind("/test/unit/");
  return pos == std::string::npos ? std::string(".") : f.substr(0, pos);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline constexpr int64_t sec = 1000;
inline constexpr int64_t minute = 60 * sec;

struct fixture {
  std::vector<int64_t> spans{minute, 5 * minute, 15 * minute};

  rules_parse_result parse(const std::string& text) { return parse_rules(text, spans); }

  // One rule given as the body of a rule object; returns it (errors fail the test).
  rule_spec one(const std::string& body) {
    auto r = parse(R"({"rules":[{)" + body + "}]}");
    if (!r.errors.empty()) CAF_FAIL("unexpected error: " << r.errors.front());
    CAF_REQUIRE_EQUAL(r.rules.size(), 1u);
    return r.rules.front();
  }

  // All errors of a file with this one rule object, joined with " | ".
  std::string errors_of(const std::string& rule_object) {
    auto r = parse(R"({"rules":[)" + rule_object + "]}");
    std::string out;
    for (const auto& e : r.errors) out += (out.empty() ? "" : " | ") + e;
    return out.empty() ? "<no error>" : out;
  }

  static std::string kind(const alert_change& c) { return to_string(c.kind); }
};

}  // namespace rtmon::test_rules
