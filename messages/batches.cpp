#include "messages/batches.hpp"

namespace rtmon {

std::string to_string(signal_kind k) {
  switch (k) {
    case signal_kind::log:
      return "log";
    case signal_kind::metric:
      return "metric";
    case signal_kind::event:
      return "event";
    case signal_kind::command:
      return "command";
  }
  return "unknown";
}

std::string to_string(const topic_partition& tp) {
  return tp.topic + "/" + std::to_string(tp.partition);
}

}  // namespace rtmon
