#include "system/notify/channel.hpp"

#include <string_view>

namespace rtmon::notify {

namespace {

// "scheme://host[:port]" of a URL, plus "/…" when a path, query or fragment followed: Slack
// webhook URLs carry their token in the path, and userinfo ("user:pass@") is dropped too.
std::string redact_url(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return url.empty() ? "no url" : "(unparsed url)";
  auto rest = url.substr(scheme_end + 3);
  auto authority_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, authority_end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos)
    authority = authority.substr(at + 1);
  std::string out(url.substr(0, scheme_end + 3));
  out += authority;
  if (authority_end != std::string_view::npos && authority_end + 1 < rest.size())
    out += "/\xE2\x80\xA6";  // "/…"
  return out;
}

}  // namespace

std::string channel::describe() const {
  std::string out = name + " (" + to_string(kind) + ", " + redact_url(url);
  if (kind == channel_kind::email) {
    out += ", " + std::to_string(to.size()) + (to.size() == 1 ? " recipient" : " recipients");
    if (!user.empty()) out += ", auth";
    if (require_tls) out += ", tls required";
  } else if (kind == channel_kind::webhook && !headers.empty()) {
    out +=
        ", " + std::to_string(headers.size()) + " extra header" + (headers.size() == 1 ? "" : "s");
  }
  return out + ")";
}

}  // namespace rtmon::notify
