#pragma once
// Checks for the Postgres test programs (no CAF here: plain functions against a real server).
// Every CHECK counts; main() reports the totals and fails on any failed check.
#include <cstdio>
#include <string>

#include <pqxx/pqxx>

#include "messages/incidents.hpp"

namespace rtmon::pg_test {

inline int failures = 0;
inline int checks = 0;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    ++checks;                                                                       \
    if (!(cond)) {                                                                  \
      ++failures;                                                                   \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                               \
  } while (false)

#define CHECK_EQ(a, b)                                                                     \
  do {                                                                                     \
    ++checks;                                                                              \
    auto va_ = (a);                                                                        \
    auto vb_ = (b);                                                                        \
    if (!(va_ == vb_)) {                                                                   \
      ++failures;                                                                          \
      std::fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s\n  left:  %s\n  right: %s\n", \
                   __FILE__, __LINE__, #a, #b, show(va_).c_str(), show(vb_).c_str());      \
    }                                                                                      \
  } while (false)

inline std::string show(const std::string& s) { return "\"" + s + "\""; }
inline std::string show(const char* s) { return show(std::string{s}); }
inline std::string show(bool b) { return b ? "true" : "false"; }
inline std::string show(double d) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", d);
  return buf;
}
template <class T>
inline std::string show(T x) {
  return std::to_string(x);
}
inline std::string show(incident_status s) { return to_string(s); }

inline void section(const char* name) { std::printf("-- %s\n", name); }

inline std::string scalar(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction tx{c};
  auto f = tx.exec1(sql)[0];
  return f.is_null() ? "NULL" : f.as<std::string>();
}

inline int64_t count(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction tx{c};
  return tx.exec1(sql)[0].as<int64_t>();
}

}  // namespace rtmon::pg_test
