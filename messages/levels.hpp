// Log levels: the canonical names rtmon stores and the aliases common loggers use. One table,
// shared by the edge (normalizing what clients send) and the log windows (counting by level).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rtmon {

enum class log_level : uint8_t { trace, debug, info, warn, error, fatal };
constexpr size_t log_level_count = 6;

/// "trace" ... "fatal".
std::string to_string(log_level l);

/// Case-insensitive; accepts the canonical names and aliases (information/notice -> info,
/// warning -> warn, err -> error, critical/crit/alert/emerg/emergency/panic -> fatal).
/// False for anything else.
bool parse_log_level(std::string_view text, log_level& out);

}  // namespace rtmon
