#define CAF_SUITE notify_send
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "system/notify/send.hpp"
#include "test/unit/test.hpp"

using namespace rtmon;
using namespace rtmon::notify;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// A scripted HTTP receiver on 127.0.0.1:<ephemeral>, one thread per connection. The path
// picks the answer: /ok, /invalid, /busy, /busy-date, /boom, /gone, /echo (400 with the target
// in the body), /hang (reads the request, never answers), /close (reads, closes).
class fake_receiver {
 public:
  fake_receiver() : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~fake_receiver() {
    {
      std::lock_guard<std::mutex> guard(mx_);
      stopping_ = true;
    }
    cv_.notify_all();
    boost::system::error_code ec;
    tcp::socket wake(ioc_);  // unblocks accept()
    wake.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    accept_thread_.join();
    for (auto& t : connections_) t.join();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  http::request<http::string_body> last() {
    std::lock_guard<std::mutex> guard(mx_);
    return requests_.empty() ? http::request<http::string_body>{} : requests_.back();
  }

  size_t count() {
    std::lock_guard<std::mutex> guard(mx_);
    return requests_.size();
  }

 private:
  void accept_loop() {
    for (;;) {
      tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      {
        std::lock_guard<std::mutex> guard(mx_);
        if (stopping_ || ec) return;
      }
      connections_.emplace_back([this, s = std::move(s)]() mutable { serve(s); });
    }
  }

  void serve(tcp::socket& s) {
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(s, buf, req, ec);
    if (ec) return;
    std::string target(req.target());
    {
      std::lock_guard<std::mutex> guard(mx_);
      requests_.push_back(req);
    }
    auto path = target.substr(0, target.find('?'));
    http::response<http::string_body> res;
    res.keep_alive(false);
    res.set(http::field::content_type, "text/plain");
    if (path == "/ok") {
      res.result(200);
      res.body() = "ok";
    } else if (path == "/invalid") {
      res.result(400);
      res.body() = "invalid_payload";
    } else if (path == "/echo") {
      res.result(400);
      res.body() = "no_service for " + target;
    } else if (path == "/busy") {
      res.result(429);
      res.set(http::field::retry_after, "7");
      res.body() = "rate_limited";
    } else if (path == "/busy-date") {
      res.result(429);
      res.set(http::field::retry_after, http_date(std::time(nullptr) + 30));
    } else if (path == "/boom") {
      res.result(500);
      res.body() = "rollup_error";
    } else if (path == "/gone") {
      res.result(410);
      res.body() = "channel_is_archived";
    } else if (path == "/hang") {
      std::unique_lock<std::mutex> guard(mx_);
      cv_.wait_for(guard, std::chrono::seconds(10), [this] { return stopping_; });
      return;
    } else {  // "/close" and anything else: the request arrived, no answer comes back
      return;
    }
    res.prepare_payload();
    http::write(s, res, ec);
    s.shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::vector<std::thread> connections_;  // touched by the accept thread only, until joined
  std::mutex mx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<http::request<http::string_body>> requests_;
};

notification note(channel_kind kind = channel_kind::slack) {
  notification n;
  n.id = 42;
  n.attempt = 3;
  n.incident_id = "inc-1";
  n.seq = 1;
  n.channel = "c";
  n.kind = kind;
  n.event = "triggered";
  n.idem_key = "inc-1:1:c";
  n.payload = R"({"incident_id":"inc-1","rule":"r","service":"api","severity":"critical",)"
              R"("summary":"s","detail":"value 2 > 1","kind":"triggered"})";
  return n;
}

channel http_channel(const std::string& url, channel_kind kind = channel_kind::slack) {
  channel ch;
  ch.name = "c";
  ch.kind = kind;
  ch.url = url;
  ch.timeout_ms = 3000;
  return ch;
}

struct fixture {
  fake_receiver rx;
};

}  // namespace

CAF_TEST_FIXTURE_SCOPE(notify_send_tests, fixture)

CAF_TEST(a 2xx answer is a delivery) {
  auto before = now_ms();
  auto a = send(http_channel(rx.url("/ok")), note());
  CAF_CHECK_EQUAL(a.outcome, delivery_outcome::delivered);
  CAF_CHECK_EQUAL(a.status_code, 200);
  CAF_CHECK_EQUAL(a.error, "");
  CAF_CHECK_EQUAL(a.retry_after_ms, -1);
  CAF_CHECK_EQUAL(a.notification_id, 42);
  CAF_CHECK_EQUAL(a.attempt, 3u);
  CAF_CHECK_GREATER(a.latency_ms, 0.0);
  CAF_CHECK_GREATER_OR_EQUAL(a.started_ms, before);
  auto req = rx.last();
  CAF_CHECK_EQUAL(req.method(), http::verb::post);
  CAF_CHECK_EQUAL(req[http::field::content_type], "application/json");
  CAF_CHECK(req.find("Idempotency-Key") == req.end());  // Slack gets none
  auto body = boost::json::parse(req.body());
  CAF_CHECK(body.as_object().contains("blocks"));
  CAF_CHECK(body.as_object().contains("text"));
}

CAF_TEST(webhooks carry the idempotency key and extra headers) {
  auto ch = http_channel(rx.url("/ok"), channel_kind::webhook);
  ch.headers = {"Authorization: Bearer s3cret-token", "X-Bad: a\r\nInjected: 1"};
  auto a = send(ch, note(channel_kind::webhook));
  CAF_CHECK_EQUAL(a.outcome, delivery_outcome::delivered);
  auto req = rx.last();
  CAF_CHECK_EQUAL(req["Idempotency-Key"], "inc-1:1:c");
  CAF_CHECK_EQUAL(req[http::field::authorization], "Bearer s3cret-token");
  CAF_CHECK(req.find("Injected") == req.end());
  auto body = boost::json::parse(req.body());
  CAF_CHECK_EQUAL(body.at("event_action"), "trigger");
  CAF_CHECK_EQUAL(body.at("dedup_key"), "inc-1");
}

CAF_TEST(permanent refusals fail and keep the reason of the receiver) {
  auto a = send(http_channel(rx.url("/invalid")), note());
  CAF_CHECK_EQUAL(a.outcome, delivery_outcome::failed);
  CAF_CHECK_EQUAL(a.status_code, 400);
  CAF_CHECK_EQUAL(a.error, "HTTP 400: invalid_payload");
  auto g = send(http_channel(rx.url("/gone")), note());
  CAF_CHECK_EQUAL(g.outcome, delivery_outcome::failed);
  CAF_CHECK_EQUAL(g.status_code, 410);
  CAF_CHECK_EQUAL(g.error, "HTTP 410: channel_is_archived");
}

CAF_TEST(errors never repeat the secret part of the url) {
  auto a = send(http_channel(rx.url("/echo?token=T0PSECRET99")), note());
  CAF_CHECK_EQUAL(a.outcome, delivery_outcome::failed);
  CAF_CHECK(a.error.find("T0PSECRET99") == std::string::npos);
  CAF_CHECK(a.error.find("no_service for /***") != std::string::npos);
}

CAF_TEST(rate limits and server errors are retried with the given retry after) {
  auto a = send(http_channel(rx.url("/busy")), note());
  CAF_CHECK_EQUAL(a.outcome, delivery_outcome::retry);
  CAF_CHECK_EQUAL(a.status_code, 429);
  CAF_CHECK_EQUAL(a.retry_after_ms, 7000);
  auto d = send(http_channel(rx.url("/busy-date")), note());
  CAF_CHECK_EQUAL(d.outcome, delivery_outcome::retry);
  CAF_CHECK_GREATER(d.retry_after_ms, 25000);
  CAF_CHECK_LESS_OR_EQUAL(d.retry_after_ms, 31000);
  auto b = send(http_channel(rx.url("/boom")), note());
  CAF_CHECK_EQUAL(b.outcome, delivery_outcome::retry);
  CAF_CHECK_EQUAL(b.status_code, 500);
  CAF_CHECK_EQUAL(b.error, "HTTP 500: rollup_error");
  CAF_CHECK_EQUAL(b.retry_after_ms, -1);
}

CAF_TEST(no answer after the request went out is ambiguous) {
  auto ch = http_channel(rx.url("/hang"));
  ch.timeout_ms = 500;
  auto a = send(ch, note());
  CAF_CHECK_EQUAL(a.outcome, delivery_outcome::ambiguous);
  CAF_CHECK_EQUAL(a.status_code, 0);
  CAF_CHECK_GREATER_OR_EQUAL(a.latency_ms, 450.0);
  CAF_CHECK_LESS(a.latency_ms, 3000.0);
  CAF_CHECK(a.error.find("Timeout") != std::string::npos);
  CAF_CHECK_EQUAL(rx.count(), 1u);  // it did arrive: exactly why a retry may duplicate it
  auto c = send(http_channel(rx.url("/close")), note());
  CAF_CHECK_EQUAL(c.outcome, delivery_outcome::ambiguous);
}

CAF_TEST(nothing to connect to is retried) {
  uint16_t dead_port;
  {
    asio::io_context ioc;
    tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = probe.local_endpoint().port();
  }  // closed: connecting is refused
  auto url = "http://127.0.0.1:" + std::to_string(dead_port) + "/services/T0/B0/SECRETPATH";
  auto a = send(http_channel(url), note());
  CAF_CHECK_EQUAL(a.outcome, delivery_outcome::retry);
  CAF_CHECK_EQUAL(a.status_code, 0);
  CAF_CHECK(a.error.find("SECRETPATH") == std::string::npos);
  auto mail = http_channel("smtp://127.0.0.1:" + std::to_string(dead_port), channel_kind::email);
  mail.from = "rtmon@example.com";
  mail.to = {"ops@example.com"};
  CAF_CHECK_EQUAL(send(mail, note(channel_kind::email)).outcome, delivery_outcome::retry);
}

CAF_TEST(misconfigured channels fail without retrying) {
  auto mail = http_channel("smtp://127.0.0.1:1", channel_kind::email);
  auto a = send(mail, note(channel_kind::email));  // no sender, no recipients
  CAF_CHECK_EQUAL(a.outcome, delivery_outcome::failed);
  auto ftp = send(http_channel("ftp://127.0.0.1/x"), note());
  CAF_CHECK_EQUAL(ftp.outcome, delivery_outcome::failed);
  auto empty = send(http_channel(""), note());
  CAF_CHECK_EQUAL(empty.outcome, delivery_outcome::failed);
}

CAF_TEST(muted notifications are not sent) {
  auto n = note();
  n.mute = "silence s-1 by bob";
  auto a = send(http_channel(rx.url("/ok")), n);
  CAF_CHECK_EQUAL(a.outcome, delivery_outcome::muted);
  CAF_CHECK_EQUAL(a.error, "silence s-1 by bob");
  CAF_CHECK_EQUAL(a.notification_id, 42);
  CAF_CHECK_EQUAL(rx.count(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(retry after values) {
  CAF_CHECK_EQUAL(parse_retry_after("120", 0), 120000);
  CAF_CHECK_EQUAL(parse_retry_after(" 3 ", 0), 3000);
  CAF_CHECK_EQUAL(parse_retry_after("0", 0), 0);
  // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480
  CAF_CHECK_EQUAL(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470000), 10000);
  CAF_CHECK_EQUAL(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490000), 0);
  CAF_CHECK_EQUAL(parse_retry_after("soon", 0), -1);
  CAF_CHECK_EQUAL(parse_retry_after("", 0), -1);
  CAF_CHECK_EQUAL(parse_retry_after("-5", 0), -1);
}
