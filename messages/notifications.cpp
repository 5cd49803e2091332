#include "messages/notifications.hpp"

namespace rtmon {

std::string to_string(channel_kind k) {
  switch (k) {
    case channel_kind::slack:
      return "slack";
    case channel_kind::email:
      return "email";
    case channel_kind::webhook:
      return "webhook";
  }
  return "slack";
}

bool parse_channel_kind(const std::string& text, channel_kind& out) {
  for (auto k : {channel_kind::slack, channel_kind::email, channel_kind::webhook})
    if (text == to_string(k)) {
      out = k;
      return true;
    }
  return false;
}

std::string to_string(delivery_outcome o) {
  switch (o) {
    case delivery_outcome::delivered:
      return "delivered";
    case delivery_outcome::retry:
      return "retry";
    case delivery_outcome::failed:
      return "failed";
    case delivery_outcome::ambiguous:
      return "ambiguous";
    case delivery_outcome::muted:
      return "muted";
  }
  return "retry";
}

}  // namespace rtmon
