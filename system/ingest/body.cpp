#include <string>
#include <string_view>

#include <boost/json/monotonic_resource.hpp>

#include "system/ingest/fast_body.hpp"
#include "system/ingest/items.hpp"
#include "system/ingest/json_guard.hpp"

// A request body (one JSON item, a JSON array, or NDJSON lines) or a WebSocket frame to
// normalized items.
namespace rtmon::ingest {

namespace json = boost::json;

namespace {

// Unwraps the seed's envelope {"value": {...}}.
const json::value& unwrap(const json::value& v) {
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.size() == 1)
      if (auto i = o.find("value"); i != o.end() && i->value().is_object()) return i->value();
  }
  return v;
}

void add_item(signal_kind kind, const json::value& raw, int64_t index, const ingest_limits& limits,
              const request_context& ctx, parse_result& r) {
  const auto& v = unwrap(raw);
  if (!v.is_object()) {
    if (r.errors.size() < max_item_errors)
      r.errors.push_back({index, "", "each item must be a JSON object"});
    return;
  }
  item it;
  if (normalize(kind, v.get_object(), index, limits, ctx, it, r.errors))
    r.items.push_back(std::move(it));
}

}  // namespace

namespace {
parse_result parse_body_in(signal_kind kind, std::string_view body, bool ndjson,
                           const ingest_limits& limits, const request_context& ctx);
}  // namespace

parse_result parse_body(signal_kind kind, std::string_view body, bool ndjson,
                        const ingest_limits& limits, const request_context& ctx) {
  request_context local = ctx;
  if (local.now_text.empty()) local.now_text = format_timestamp(local.now);
  // Valid logs and events take the fast path; anything else, errors included, the general one.
  parse_result r;
  if (detail::parse_body_fast(kind, body, ndjson, limits, local, r)) return r;
  return detail::parse_body_general(kind, body, ndjson, limits, local);
}

parse_result detail::parse_body_general(signal_kind kind, std::string_view body, bool ndjson,
                                        const ingest_limits& limits, const request_context& ctx) {
  // One arena per request: parsing and normalizing allocate from it, freed all at once.
  json::monotonic_resource arena;
  request_context local = ctx;
  local.sp = json::storage_ptr(&arena);
  if (local.now_text.empty()) local.now_text = format_timestamp(local.now);
  return parse_body_in(kind, body, ndjson, limits, local);
}

namespace {

parse_result parse_body_in(signal_kind kind, std::string_view body, bool ndjson,
                           const ingest_limits& limits, const request_context& ctx) {
  parse_result r;
  guarded_parser parser{{limits.max_depth, limits.max_string_bytes}};
  auto reject = [&](int status, int64_t index, std::string field, std::string problem) {
    r.status = status;
    r.errors.push_back({index, std::move(field), std::move(problem)});
    r.items.clear();
    return r;
  };
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return reject(400, -1, "", "empty body");
  if (!ndjson) {
    json_problem problem;
    auto v = parser.parse(body, problem, ctx.sp);
    if (!problem) {
      if (v.is_array()) {
        const auto& arr = v.get_array();
        if (arr.empty()) return reject(400, -1, "", "empty batch");
        if (arr.size() > limits.max_items)
          return reject(413, -1, "",
                        "batch of " + std::to_string(arr.size()) + " items exceeds the limit of " +
                            std::to_string(limits.max_items));
        for (size_t i = 0; i < arr.size(); ++i)
          add_item(kind, arr[i], static_cast<int64_t>(i), limits, ctx, r);
      } else {
        add_item(kind, v, 0, limits, ctx, r);
      }
      if (!r.errors.empty()) {
        r.status = 400;
        r.items.clear();
      }
      return r;
    }
    if (!looks_like_ndjson(body))
      return reject(400, -1, problem.field,
                    problem.problem + " (at byte " + std::to_string(problem.offset) + ")");
  }
  // NDJSON: one item per non-blank line.
  int64_t index = 0;
  bool within_limit = for_each_ndjson_line(body, [&](std::string_view line) {
    if (static_cast<size_t>(index) >= limits.max_items) return false;
    json_problem problem;
    auto v = parser.parse(line, problem, ctx.sp);
    if (problem) {
      if (r.errors.size() < max_item_errors)
        r.errors.push_back({index, problem.field, problem.problem});
    } else {
      add_item(kind, v, index, limits, ctx, r);
    }
    ++index;
    return true;
  });
  if (!within_limit)
    return reject(413, -1, "",
                  "more than " + std::to_string(limits.max_items) + " items in the request");
  if (index == 0) return reject(400, -1, "", "empty body");
  if (!r.errors.empty()) {
    r.status = 400;
    r.items.clear();
  }
  return r;
}

}  // namespace

frame_result parse_frame(std::string_view text, const signal_kind* default_kind,
                         const ingest_limits& limits, const request_context& base) {
  json::monotonic_resource arena;
  request_context ctx = base;
  ctx.sp = json::storage_ptr(&arena);
  if (ctx.now_text.empty()) ctx.now_text = format_timestamp(ctx.now);
  frame_result r;
  json_problem problem;
  auto v = parse_guarded(text, {limits.max_depth, limits.max_string_bytes}, problem, ctx.sp);
  if (problem) {
    r.status = 400;
    r.errors.push_back({-1, problem.field, problem.problem});
    return r;
  }
  json::array single(ctx.sp);
  const json::array* arr = nullptr;
  if (v.is_array()) {
    arr = &v.get_array();
  } else {
    single.push_back(std::move(v));
    arr = &single;
  }
  if (arr->empty() || arr->size() > limits.max_items) {
    r.status = arr->empty() ? 400 : 413;
    r.errors.push_back(
        {-1, "",
         arr->empty() ? "empty batch"
                      : "more than " + std::to_string(limits.max_items) + " items in the frame"});
    return r;
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    auto index = static_cast<int64_t>(i);
    const auto& raw = (*arr)[i];
    if (!raw.is_object()) {
      r.errors.push_back({index, "", "each item must be a JSON object"});
      continue;
    }
    json::object obj(raw.get_object(), ctx.sp);
    signal_kind kind = default_kind ? *default_kind : signal_kind::log;
    bool have_kind = default_kind != nullptr;
    if (auto k = obj.find("kind"); k != obj.end()) {
      if (!k->value().is_string() || !parse_kind(k->value().get_string(), kind)) {
        r.errors.push_back({index, "kind", "must be \"log\", \"metric\" or \"event\""});
        continue;
      }
      have_kind = true;
      obj.erase(k);
    }
    if (!have_kind) {
      r.errors.push_back({index, "kind", "is required (or connect to /ingest?kind=logs)"});
      continue;
    }
    json::value holder(std::move(obj), ctx.sp);  // not braces: that would make an array
    const auto& inner = unwrap(holder);
    if (!inner.is_object()) {
      r.errors.push_back({index, "", "each item must be a JSON object"});
      continue;
    }
    item it;
    if (normalize(kind, inner.get_object(), index, limits, ctx, it, r.errors)) {
      r.kinds.push_back(kind);
      r.items.push_back(std::move(it));
    }
  }
  if (!r.errors.empty()) {
    r.status = 400;
    r.items.clear();
    r.kinds.clear();
  }
  return r;
}

}  // namespace rtmon::ingest
