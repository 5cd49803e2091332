// The fast path of parse_body for logs and events. A SAX handler (boost::json::basic_parser)
// writes each item's normalized payload straight from the parse events: no DOM is built,
// copied, searched and serialized again (that was about 40 % of the ingest CPU).
//
// It is optimistic and all or nothing: it takes a body only if every item is valid and of the
// plain shape (no {"value": ...} envelope, no duplicate keys, objects of at most 32 keys), and
// then gives exactly the items the general path would. For anything else it gives up, and
// parse_body runs the general path on the whole body, which also words every error.
#pragma once

#include <string_view>

#include "system/ingest/items.hpp"

namespace rtmon::ingest::detail {

/// True: `out` holds the body's items. False: run the general path (`out` is then cleared).
/// `ctx.now_text` must be set.
bool parse_body_fast(signal_kind kind, std::string_view body, bool ndjson,
                     const ingest_limits& limits, const request_context& ctx, parse_result& out);

/// The general (DOM) path alone, for tests that compare both.
parse_result parse_body_general(signal_kind kind, std::string_view body, bool ndjson,
                                const ingest_limits& limits, const request_context& ctx);

}  // namespace rtmon::ingest::detail
