#include "system/http/edge.hpp"

#include <spdlog/spdlog.h>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "system/api/service.hpp"
#include "system/ingest/items.hpp"

namespace rtmon::http {

namespace bhttp = boost::beast::http;
namespace json = boost::json;

namespace {

struct target_parts {
  std::string path;
  std::string service;  // ?service=
  std::string kind;     // ?kind=
};

target_parts split_target(boost::beast::string_view target) {
  target_parts out;
  auto parsed = boost::urls::parse_origin_form({target.data(), target.size()});
  if (!parsed) {
    out.path = std::string{target.substr(0, target.find('?'))};
    return out;
  }
  out.path = std::string{parsed->encoded_path()};
  for (auto p : parsed->params()) {
    if (p.key == "service")
      out.service = p.value;
    else if (p.key == "kind")
      out.kind = p.value;
  }
  return out;
}

// [{"index", "field", "problem"}, ...]: the same shape in HTTP and WebSocket answers.
json::array errors_array(const std::vector<ingest::item_error>& errors) {
  json::array arr;
  for (const auto& e : errors) {
    json::object o;
    if (e.index >= 0) o["index"] = e.index;
    o["field"] = e.field;
    o["problem"] = e.problem;
    arr.push_back(std::move(o));
  }
  return arr;
}

std::string errors_json(const std::vector<ingest::item_error>& errors) {
  auto arr = errors_array(errors);
  return json::serialize(
      json::object{{"error", errors.size() == 1 && errors.front().index < 0 ? errors.front().problem
                                                                            : "validation failed"},
                   {"errors", std::move(arr)}});
}

constexpr const char* bad_service = "the ?service= default must be 1 to 200 printable characters";

std::string error_json(const std::string& message) {
  return json::serialize(json::object{{"error", message}});
}

// The ids of a request as a JSON array, rendered once when the items are produced (not kept as
// one string each until the acknowledgement). Event ids need no escaping: clients' ids are
// restricted to [A-Za-z0-9._:-] and assigned ones are UUIDs.
std::string ids_array(const std::vector<ingest::item>& items) {
  std::string out;
  out.reserve(2 + items.size() * 40);
  out += '[';
  for (const auto& it : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += it.event_id;
    out += '"';
  }
  out += ']';
  return out;
}

// The status and body for a finished produce call. Failures list the ids too: some items may
// be in Kafka already, and a retry must reuse these ids to stay free of duplicates. The bodies
// are what serializing {"accepted", "ids"} or {"error", "ids", "retry_after_s"} gives.
response produce_response(const kafka::produce_outcome& out, size_t count, const std::string& ids,
                          bool keep_alive) {
  if (out.status == kafka::produce_status::ok)
    return json_response(202, "{\"accepted\":" + std::to_string(count) + ",\"ids\":" + ids + "}",
                         keep_alive);
  std::string error;
  unsigned status = 503;
  int retry_after = 2;
  switch (out.status) {
    case kafka::produce_status::overloaded:
      error = "ingest is overloaded: " + out.error;
      retry_after = 1;
      break;
    case kafka::produce_status::failed:
      error = "Kafka refused the items: " + out.error;
      status = 500;
      break;
    default:
      error = "Kafka did not acknowledge every item: " + out.error +
              ". Retry the same items with these event_ids; duplicates are ignored.";
  }
  auto body = "{\"error\":" + json::serialize(json::value(error)) + ",\"ids\":" + ids;
  if (status == 503) body += ",\"retry_after_s\":" + std::to_string(retry_after);
  body += '}';
  auto res = json_response(status, body, keep_alive);
  if (status == 503) res.set(bhttp::field::retry_after, std::to_string(retry_after));
  return res;
}

bool media_type_is(const std::string& content_type, std::initializer_list<const char*> types) {
  auto semi = content_type.find(';');
  std::string base = content_type.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (auto& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto t : types)
    if (base == t) return true;
  return false;
}

}  // namespace

edge::edge(const config& cfg, kafka::producer* producer, health_monitor& health,
           metrics_registry& metrics, api::service* api)
    : cfg_(cfg),
      producer_(producer),
      api_(api),
      health_(health),
      metrics_(metrics),
      rejected_(
          metrics.get_counter("rtmon_ingest_rejected_total", "Requests refused by validation")) {
  for (int k = 0; k < 3; ++k)
    items_[k] = &metrics.get_counter("rtmon_ingest_items_total", "Items acknowledged",
                                     "signal=\"" + to_string(static_cast<signal_kind>(k)) + "\"");
  metrics_.add_gauge("rtmon_ingest_inflight_requests", "Requests waiting for Kafka acks",
                     [this] { return static_cast<double>(inflight_.load()); });
}

void edge::handle(request&& req, respond_fn respond) {
  auto target = split_target(req.target());
  auto start = std::chrono::steady_clock::now();
  auto route = target.path;
  auto& metrics = metrics_;
  // Count every answer by route and status.
  respond = [respond = std::move(respond), route, start, &metrics](response res) {
    bool known = route == "/logs" || route == "/metrics" || route == "/events" ||
                 route == "/healthz" || route == "/readyz" || route.rfind("/api/", 0) == 0;
    auto name = route.rfind("/api/", 0) == 0 ? std::string{"/api"} : route;
    auto label = "route=\"" + (known ? name : std::string{"other"}) + "\",code=\"" +
                 std::to_string(res.result_int()) + "\"";
    metrics.get_counter("rtmon_http_requests_total", "HTTP requests by route and status", label)
        .inc();
    if (known)
      metrics
          .get_histogram("rtmon_http_request_seconds", "HTTP request latency",
                         "route=\"" + name + "\"")
          .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    respond(std::move(res));
  };
  bool keep_alive = req.keep_alive();
  auto method = req.method();
  auto only = [&](bhttp::verb v, const char* allow) {
    if (method == v) return true;
    auto res =
        json_response(405, error_json("method not allowed; use " + std::string{allow}), keep_alive);
    res.set(bhttp::field::allow, allow);
    respond(std::move(res));
    return false;
  };
  const auto& path = target.path;
  if (api_ && (path == "/api" || path.rfind("/api/", 0) == 0)) {
    api_->handle(std::move(req), std::move(respond));
    return;
  }
  // The UI's browser routes share names with the ingest endpoints (/logs): a browser asking
  // for a page gets the app, API clients keep the ingest behaviour.
  bool page = method == bhttp::verb::get || method == bhttp::verb::head;
  bool wants_html =
      page && std::string{req[bhttp::field::accept]}.find("text/html") != std::string::npos;
  if (api_ && page &&
      ((path != "/logs" && path != "/events" && path != "/metrics" && path != "/healthz" &&
        path != "/readyz" && path != "/ingest") ||
       ((path == "/logs" || path == "/events") && wants_html))) {
    respond(api_->serve_ui(path, method == bhttp::verb::head, keep_alive, wants_html));
    return;
  }
  signal_kind kind;
  if ((path == "/logs" || path == "/events" ||
       (path == "/metrics" && method == bhttp::verb::post)) &&
      ingest::parse_kind(path.substr(1), kind)) {
    if (only(bhttp::verb::post, "POST")) ingest(kind, std::move(req), std::move(respond));
    return;
  }
  if (path == "/metrics") {
    if (!only(bhttp::verb::get, "GET, POST")) return;
    auto res = json_response(200, metrics_.render(), keep_alive);
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.prepare_payload();
    respond(std::move(res));
    return;
  }
  if (path == "/healthz") {
    if (only(bhttp::verb::get, "GET"))
      respond(json_response(200, R"({"status":"ok","version":")" RTMON_VERSION "\"}", keep_alive));
    return;
  }
  if (path == "/readyz") {
    if (only(bhttp::verb::get, "GET"))
      respond(json_response(health_.ready() ? 200 : 503, health_.json(), keep_alive));
    return;
  }
  respond(json_response(404, error_json("no such endpoint: " + path), keep_alive));
}

void edge::ingest(signal_kind kind, request&& req, respond_fn respond) {
  bool keep_alive = req.keep_alive();
  if (producer_ == nullptr) {
    respond(json_response(404, error_json("this rtmon process has no ingest role"), keep_alive));
    return;
  }
  // Framing the parser accepted but rtmon does not: compressed bodies are not supported.
  auto te = std::string{req[bhttp::field::transfer_encoding]};
  if (!te.empty() && !media_type_is(te, {"chunked"})) {  // names are case-insensitive
    respond(
        json_response(501, error_json("Transfer-Encoding '" + te + "' is not supported"), false));
    return;
  }
  auto ce = std::string{req[bhttp::field::content_encoding]};
  if (!ce.empty() && ce != "identity") {
    respond(json_response(
        415, error_json("Content-Encoding '" + ce + "' is not supported; send uncompressed JSON"),
        keep_alive));
    return;
  }
  auto ct = std::string{req[bhttp::field::content_type]};
  bool ndjson = media_type_is(ct, {"application/x-ndjson", "application/ndjson",
                                   "application/jsonl", "application/jsonlines"});
  if (!ndjson && !media_type_is(ct, {"application/json"})) {
    respond(json_response(
        415,
        error_json("Content-Type must be application/json or application/x-ndjson, got '" + ct +
                   "'"),
        keep_alive));
    return;
  }
  ingest::request_context ctx;
  auto target = split_target(req.target());
  if (!target.service.empty()) {
    if (!ingest::valid_service(target.service)) {
      respond(json_response(400, errors_json({{-1, "service", bad_service}}), keep_alive));
      return;
    }
    ctx.default_service = target.service;
  }
  auto parsed = ingest::parse_body(kind, req.body(), ndjson, cfg_.limits, ctx);
  if (!parsed.errors.empty()) {
    rejected_.inc();
    respond(
        json_response(parsed.status ? parsed.status : 400, errors_json(parsed.errors), keep_alive));
    return;
  }
  auto ids = ids_array(parsed.items);
  auto count = parsed.items.size();
  ++inflight_;
  producer_->produce(cfg_.kafka.topic(to_string(kind) + "s"), std::move(parsed.items),
                     [this, count, ids = std::move(ids), respond = std::move(respond), keep_alive,
                      kind](kafka::produce_outcome out) {
                       if (out.status == kafka::produce_status::ok) {
                         size_t counts[3] = {0, 0, 0};
                         counts[static_cast<int>(kind)] = count;
                         count_items(counts);
                       }
                       respond(produce_response(out, count, ids, keep_alive));
                       --inflight_;
                     });
}

void edge::count_items(const size_t (&by_kind)[3]) {
  for (int k = 0; k < 3; ++k)
    if (by_kind[k] > 0) items_[k]->inc(by_kind[k]);
}

bool edge::accepts_websocket(const std::string& target) const {
  auto path = split_target(target).path;
  return (producer_ != nullptr && path == "/ingest") || (api_ != nullptr && path == "/api/stream");
}

stream_handle edge::open_stream(const std::string& target, ws_send_fn send, ws_close_fn close) {
  if (api_ == nullptr || split_target(target).path != "/api/stream") return nullptr;
  return api_->open_stream(target, std::move(send), std::move(close));
}

void edge::handle_frame(const std::string& target, uint64_t frame, std::string text,
                        ws_send_fn send) {
  auto parts = split_target(target);
  signal_kind default_kind;
  bool has_default = !parts.kind.empty() && ingest::parse_kind(parts.kind, default_kind);
  ingest::request_context ctx;
  bool service_ok = parts.service.empty() || ingest::valid_service(parts.service);
  if (!parts.service.empty() && service_ok) ctx.default_service = parts.service;
  auto parsed = ingest::parse_frame(text, has_default ? &default_kind : nullptr, cfg_.limits, ctx);
  if (!service_ok) {
    parsed.errors = {{-1, "service", bad_service}};
    parsed.status = 400;
  }
  // Echo the client's correlation handle: the ids it sent, by item index.
  if (!parsed.errors.empty()) {
    rejected_.inc();
    json::object reply{{"frame", frame}, {"status", "error"}, {"code", parsed.status}};
    reply["errors"] = errors_array(parsed.errors);
    send(json::serialize(reply));
    return;
  }
  // One produce call per kind present in the frame; reply once all are acknowledged.
  struct pending {
    std::atomic<int> left{0};
    std::mutex mx;
    kafka::produce_outcome worst;
    std::vector<std::string> ids;
    size_t by_kind[3] = {0, 0, 0};
    uint64_t frame = 0;
  };
  auto p = std::make_shared<pending>();
  p->frame = frame;
  std::vector<ingest::item> by_kind[3];
  for (size_t i = 0; i < parsed.items.size(); ++i) {
    p->ids.push_back(parsed.items[i].event_id);
    ++p->by_kind[static_cast<int>(parsed.kinds[i])];
    by_kind[static_cast<int>(parsed.kinds[i])].push_back(std::move(parsed.items[i]));
  }
  for (auto& v : by_kind)
    if (!v.empty()) ++p->left;
  ++inflight_;
  for (int k = 0; k < 3; ++k) {
    if (by_kind[k].empty()) continue;
    auto kind = static_cast<signal_kind>(k);
    producer_->produce(
        cfg_.kafka.topic(to_string(kind) + "s"), std::move(by_kind[k]),
        [this, p, send](kafka::produce_outcome out) {
          {
            std::lock_guard<std::mutex> guard{p->mx};
            if (static_cast<int>(out.status) > static_cast<int>(p->worst.status)) p->worst = out;
          }
          if (--p->left != 0) return;
          json::array ids;
          for (auto& id : p->ids) ids.emplace_back(id);
          json::object reply;
          if (p->worst.status == kafka::produce_status::ok) {
            count_items(p->by_kind);
            reply = {{"status", "ok"}, {"accepted", p->ids.size()}};
          } else {
            bool retry = p->worst.status != kafka::produce_status::failed;
            reply = {{"status", "error"}, {"code", retry ? 503 : 500}, {"error", p->worst.error}};
            if (retry) reply["retry_after_s"] = 2;
          }
          reply["ids"] = std::move(ids);
          reply["frame"] = p->frame;
          send(json::serialize(reply));
          --inflight_;
        });
  }
}

}  // namespace rtmon::http
