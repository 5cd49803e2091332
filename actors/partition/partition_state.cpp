#include "actors/partition/partition_state.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "system/ingest/items.hpp"

namespace rtmon {

namespace json = boost::json;

bool partition_state::enqueue(consumed_batch_ptr batch) {
  if (!batch || batch->records.empty()) return false;
  if (next_expected_ >= 0 && batch->next_offset() <= next_expected_)
    return false;  // everything in it was queued before
  if (next_expected_ >= 0 && batch->first_offset() < next_expected_) {
    // Overlap (e.g. a re-delivery after a seek): keep only the unseen tail.
    auto copy = std::make_shared<consumed_batch>(*batch);
    auto& recs = copy->records;
    recs.erase(std::remove_if(recs.begin(), recs.end(),
                              [&](const kafka_record& r) { return r.offset < next_expected_; }),
               recs.end());
    batch = std::move(copy);
  }
  next_expected_ = batch->next_offset();
  queued_.push_back(std::move(batch));
  return true;
}

store_batch_ptr partition_state::begin_store() {
  if (inflight_ != nullptr || queued_.empty()) return nullptr;
  auto out = std::make_shared<store_batch>();
  std::shared_ptr<store_batch> warm;
  while (!queued_.empty()) {
    const auto& b = *queued_.front();
    if (!inflight_batches_.empty() && out->rows() + b.records.size() > max_rows_) break;
    for (const auto& rec : b.records) {
      if (rec.offset < b.warmup_until) {
        if (!warm) warm = std::make_shared<store_batch>();
        decode(b, rec, *warm);
      } else {
        decode(b, rec, *out);
      }
    }
    inflight_batches_.push_back(queued_.front());
    queued_.pop_front();
  }
  attempt_ = 0;
  inflight_ = std::move(out);
  warm_ = std::move(warm);
  return inflight_;
}

partition_state::durable_mark partition_state::store_succeeded(const store_result& r) {
  durable_mark mark;
  if (inflight_ == nullptr) return mark;
  mark.batches = inflight_batches_.size();
  mark.generation = inflight_batches_.back()->generation;
  mark.next_offset = inflight_batches_.back()->next_offset();
  if (mark.next_offset <= inflight_batches_.back()->warmup_until)
    mark.next_offset = -1;  // warm-up only: already committed
  else
    durable_ = mark.next_offset;
  rows_stored_ += r.rows;
  inflight_batches_.clear();
  inflight_.reset();
  attempt_ = 0;
  return mark;
}

std::chrono::milliseconds partition_state::store_failed() {
  ++failures_;
  ++attempt_;
  // Exponential back-off, 100 ms doubling up to 5 s: Postgres gets room to come back.
  auto ms = std::min<int64_t>(5000, 100ll << std::min<uint64_t>(attempt_ - 1, 6));
  return std::chrono::milliseconds{ms};
}

partition_status partition_state::status() const {
  partition_status s;
  s.durable_offset = durable_;
  s.queued_batches = queued_.size();
  s.inflight_batches = inflight_batches_.size();
  s.rows_stored = rows_stored_;
  s.store_failures = failures_;
  return s;
}

namespace {

std::string str(const json::object& o, const char* key) {
  auto i = o.find(key);
  if (i == o.end() || !i->value().is_string())
    throw std::invalid_argument(std::string{"missing string field '"} + key + "'");
  return std::string{i->value().get_string()};
}

// Fields that go into indexes or keys get the edge's rules again: a record produced to the
// topic by other means must not reach Postgres with a value it refuses (e.g. a key too large
// for a btree), or the whole transaction would fail and the partition stall.
std::string checked(const json::object& o, const char* key, bool (*valid)(std::string_view)) {
  auto v = str(o, key);
  if (!valid(v)) throw std::invalid_argument(std::string{"invalid field '"} + key + "'");
  return v;
}
std::string id_of(const json::object& o) { return checked(o, "event_id", ingest::valid_event_id); }
std::string name_of(const json::object& o, const char* key) {
  return checked(o, key, ingest::valid_service);
}

// The ts column must parse in Postgres, or the whole transaction fails: re-check and normalize.
std::string canonical_ts(const json::object& o, int64_t& ms) {
  auto i = o.find("ts");
  ingest::sys_time t;
  std::string problem;
  if (i == o.end() || !ingest::parse_timestamp(i->value(), t, problem) ||
      t.time_since_epoch().count() < 0)
    throw std::invalid_argument("missing or invalid ts");
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return ingest::format_timestamp(t);
}

std::string obj_text(const json::object& o, const char* key) {
  auto i = o.find(key);
  if (i == o.end()) return "{}";
  if (!i->value().is_object())
    throw std::invalid_argument(std::string{"field '"} + key + "' is not an object");
  return json::serialize(i->value());
}

// Postgres refuses NUL characters and non-finite numbers: records written by rtmon's edge never
// hold them, but anything produced to the topic by other means is checked here.
void check_storable(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      if (v.get_string().find('\0') != json::string::npos)
        throw std::invalid_argument("string with a NUL character");
      break;
    case json::kind::double_:
      if (!std::isfinite(v.get_double())) throw std::invalid_argument("non-finite number");
      break;
    case json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (kv.key().find('\0') != json::string_view::npos)
          throw std::invalid_argument("key with a NUL character");
        check_storable(kv.value());
      }
      break;
    case json::kind::array:
      for (const auto& x : v.get_array()) check_storable(x);
      break;
    default:
      break;
  }
}

// Replaces NUL bytes and invalid UTF-8 sequences with '?'.
std::string storable_text(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= in.size() && c != 0;
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(in[i + k]) & 0xc0) == 0x80;
    if (ok) {
      out.append(in, i, len);
      i += len;
    } else {
      out.push_back('?');
      ++i;
    }
  }
  return out;
}

}  // namespace

void partition_state::decode(const consumed_batch& batch, const kafka_record& rec,
                             store_batch& out) {
  try {
    json::error_code ec;
    auto v = json::parse(rec.payload, ec);
    if (ec) throw std::invalid_argument("malformed JSON: " + ec.message());
    if (!v.is_object()) throw std::invalid_argument("not a JSON object");
    check_storable(v);
    const auto& o = v.get_object();
    auto a = o.find("assigned_id");
    bool probe = a == o.end() || !a->value().is_bool() || !a->value().get_bool();
    switch (batch.kind) {
      case signal_kind::log: {
        int64_t ms = 0;
        log_row r{id_of(o),
                  canonical_ts(o, ms),
                  name_of(o, "service"),
                  {},
                  checked(o, "level", ingest::canonical_level),
                  str(o, "message"),
                  obj_text(o, "attrs")};
        if (o.contains("host")) r.host = name_of(o, "host");
        r.probe = probe;
        r.ts_ms = ms;
        out.logs.push_back(std::move(r));
        break;
      }
      case signal_kind::metric: {
        int64_t ms = 0;
        auto id = id_of(o), ts = canonical_ts(o, ms), service = name_of(o, "service");
        auto tags = obj_text(o, "tags");
        auto s = o.find("samples");
        if (s == o.end() || !s->value().is_array() || s->value().get_array().empty())
          throw std::invalid_argument("missing samples");
        // All samples or none: a bad sample makes the whole record a dead letter.
        std::vector<metric_row> rows;
        for (const auto& x : s->value().get_array()) {
          if (!x.is_object() || !x.get_object().contains("value") ||
              !x.get_object().at("value").is_number())
            throw std::invalid_argument("sample without a numeric value");
          rows.push_back({id, ts, service, name_of(x.get_object(), "name"),
                          x.get_object().at("value").to_number<double>(), tags, probe, ms});
        }
        out.metrics.insert(out.metrics.end(), std::make_move_iterator(rows.begin()),
                           std::make_move_iterator(rows.end()));
        break;
      }
      case signal_kind::event: {
        int64_t ms = 0;
        out.events.push_back({id_of(o), canonical_ts(o, ms), name_of(o, "service"),
                              name_of(o, "type"), obj_text(o, "attrs"), probe, ms});
        break;
      }
      case signal_kind::command: {
        command_row c;
        c.id = str(o, "id");
        c.incident_id = str(o, "incident_id");
        c.fingerprint = str(o, "fingerprint");
        c.service = name_of(o, "service");
        c.action = str(o, "action");
        c.actor = str(o, "actor");
        if (c.action != "acknowledge" && c.action != "resolve" && c.action != "note")
          throw std::invalid_argument("unknown action '" + c.action + "'");
        if (c.action == "note") c.text = str(o, "text");
        auto at = o.find("at");
        ingest::sys_time t;
        std::string problem;
        if (at == o.end() || !ingest::parse_timestamp(at->value(), t, problem))
          throw std::invalid_argument("missing or invalid at");
        c.at_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
        out.commands.push_back(std::move(c));
        break;
      }
    }
  } catch (const std::exception& e) {
    // Keep the bytes storable: NULs or invalid UTF-8 would poison the dead-letter row too.
    auto payload = storable_text(rec.payload.substr(0, 65536));
    out.dead.push_back({batch.tp.topic, batch.tp.partition, rec.offset, e.what(), payload});
  }
}

}  // namespace rtmon
