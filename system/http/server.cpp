#include "system/http/server.hpp"

#include <array>
#include <deque>
#include <mutex>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace rtmon::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

response json_response(unsigned status, const std::string& body, bool keep_alive) {
  response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::server, "rtmon");
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = body;
  res.prepare_payload();
  return res;
}

namespace {

/// Counts a live connection (HTTP or WebSocket) for as long as it exists.
class connection_slot {
 public:
  explicit connection_slot(std::shared_ptr<std::atomic<size_t>> n) : n_(std::move(n)) { ++*n_; }
  ~connection_slot() { --*n_; }
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;

 private:
  std::shared_ptr<std::atomic<size_t>> n_;
};

// --- WebSocket session -----------------------------------------------------------------------

class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(tcp::socket&& socket, const server_options& opts, http_handler& handler,
             std::shared_ptr<connection_slot> slot)
      : ws_(std::move(socket)), opts_(opts), handler_(handler), slot_(std::move(slot)) {}

  void run(request req) {
    target_ = std::string{req.target()};
    ws_.read_message_max(opts_.ws_frame_limit);
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = std::chrono::seconds{opts_.ws_idle_timeout_s};
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "rtmon"); }));
    ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return;
    // The handler's subscription holds only weak references: a session that ends (client gone,
    // closed as too slow) is freed, and its handle's destruction unregisters it. Both calls hop
    // onto the session's strand, so the subscriber never runs socket code on its own thread.
    std::weak_ptr<ws_session> weak = shared_from_this();
    auto exec = ws_.get_executor();
    stream_ = handler_.open_stream(
        target_,
        [weak, exec](std::string text) {
          net::post(exec, [weak, text = std::move(text)]() mutable {
            if (auto self = weak.lock()) self->push(std::move(text));
          });
        },
        [weak, exec](std::string reason) {
          net::post(exec, [weak, reason = std::move(reason)]() mutable {
            if (auto self = weak.lock()) self->close_with(std::move(reason));
          });
        });
    read();
  }
  /// Push mode: queues a server message, or closes a client that fell too far behind.
  void push(std::string text) {
    if (closing_) return;
    if (queue_.size() >= opts_.ws_max_queued) {
      spdlog::info("ws {}: client fell {} messages behind, closing", target_, queue_.size());
      close_with("client too slow: over " + std::to_string(opts_.ws_max_queued) +
                 " messages queued; reconnect and resume");
      return;
    }
    queue_.push_back({std::move(text), false});
    if (queue_.size() == 1) write_next();
  }
  void close_with(std::string reason) {
    if (closing_) return;
    closing_ = true;
    // The message being written (the front) stays until its write completes.
    if (queue_.size() > 1) queue_.erase(queue_.begin() + 1, queue_.end());
    if (reason.size() > 120) reason.resize(120);  // a close reason fits in 123 bytes
    ws_.async_close(websocket::close_reason{websocket::close_code::policy_error, reason},
                    [self = shared_from_this()](beast::error_code) {});
  }
  void read() {
    if (inflight_ >= opts_.ws_max_inflight) {
      reading_paused_ = true;  // backpressure: resume when a frame completes
      return;
    }
    ws_.async_read(buffer_, beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
  }
  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == websocket::error::message_too_big)
        spdlog::debug("ws: frame over {} bytes, closing with 1009", opts_.ws_frame_limit);
      return;  // Beast already sent the close frame for protocol errors
    }
    if (stream_) {  // push mode: the client only listens; what it sends is ignored
      buffer_.consume(buffer_.size());
      read();
      return;
    }
    // Every frame holds a slot of the in-flight window until its reply is written, so a client
    // that sends without reading is stopped by TCP, not buffered without bound.
    ++inflight_;
    if (!ws_.got_text()) {
      buffer_.consume(buffer_.size());
      send(
          R"({"status":"error","code":415,"error":"binary frames are not accepted: send JSON text"})");
      read();
      return;
    }
    auto text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    auto self = shared_from_this();
    handler_.handle_frame(target_, ++frames_, std::move(text),
                          [self](std::string reply) { self->send(std::move(reply)); });
    read();
  }
  void send(std::string text) {
    auto self = shared_from_this();
    net::dispatch(ws_.get_executor(), [self, text = std::move(text)]() mutable {
      self->queue_.push_back({std::move(text), true});
      if (self->queue_.size() == 1) self->write_next();
    });
  }
  void write_next() {
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front().first),
                    beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
  }
  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return;
    if (queue_.front().second) --inflight_;  // the frame's reply is out: its slot is free
    queue_.pop_front();
    if (!queue_.empty() && !closing_) write_next();
    if (reading_paused_) {
      reading_paused_ = false;
      read();
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  const server_options& opts_;
  http_handler& handler_;
  beast::flat_buffer buffer_;
  std::string target_;
  std::deque<std::pair<std::string, bool>> queue_;  // text, counts against the in-flight window
  stream_handle stream_;  // push mode: the subscription, released with the session
  bool closing_ = false;
  size_t inflight_ = 0;
  uint64_t frames_ = 0;
  bool reading_paused_ = false;
  std::shared_ptr<connection_slot> slot_;
};

// --- HTTP session ----------------------------------------------------------------------------

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket&& socket, const server_options& opts, http_handler& handler,
               std::shared_ptr<connection_slot> slot)
      : stream_(std::move(socket)), opts_(opts), handler_(handler), slot_(std::move(slot)) {}

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&http_session::read, shared_from_this()));
  }

 private:
  // Beast reads at most the buffer's free capacity per recv (at least 512 bytes) and the parser
  // empties the buffer as it goes, so a buffer sized for the headers took a 30 KB body in ~35
  // recv calls, each a full trip through the read machinery. The headers are read first; the
  // buffer then gets room for the whole body (up to the 64 KiB Beast reads at a time at most).
  static constexpr size_t max_read = 65536;
  // A buffer grown for a large body is released between requests: idle keep-alive
  // connections hold only a small one.
  static constexpr size_t idle_buffer = 16384;

  void read() {
    if (buffer_.size() == 0 && buffer_.capacity() > idle_buffer) buffer_.shrink_to_fit();
    parser_.emplace();
    parser_->body_limit(opts_.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(opts_.header_limit));
    stream_.expires_after(std::chrono::seconds{opts_.read_timeout_s});  // headers and body
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&http_session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t n) {
    if (ec || parser_->is_done()) {
      on_read(ec, n);
      return;
    }
    auto length = parser_->content_length();  // none when chunked
    size_t want = length ? buffer_.size() + static_cast<size_t>(*length) : max_read;
    if (want > buffer_.capacity()) buffer_.reserve(std::min(want, max_read));
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::connection_reset) {
      close();
      return;
    }
    if (ec) {
      // Framing errors: answer once, then close (the stream position is unknown).
      unsigned status = 400;
      std::string what = "malformed HTTP request: " + ec.message();
      if (ec == bhttp::error::body_limit) {
        status = 413;
        what = "request body larger than " + std::to_string(opts_.body_limit) + " bytes";
      } else if (ec == bhttp::error::header_limit) {
        status = 431;
        what = "request headers larger than " + std::to_string(opts_.header_limit) + " bytes";
      }
      write(json_response(status, R"({"error":")" + what + "\"}", false));
      return;
    }
    auto req = parser_->release();
    if (websocket::is_upgrade(req) && handler_.accepts_websocket(std::string{req.target()})) {
      stream_.expires_never();
      std::make_shared<ws_session>(stream_.release_socket(), opts_, handler_, slot_)
          ->run(std::move(req));
      return;
    }
    bool keep_alive = req.keep_alive();
    auto self = shared_from_this();
    stream_.expires_never();  // the handler bounds its own time (produce timeout)
    handler_.handle(std::move(req), [self, keep_alive](response res) {
      res.keep_alive(keep_alive && res.keep_alive());
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->write(std::move(res)); });
    });
  }

  void write(response res) {
    res_ = std::make_shared<response>(std::move(res));
    stream_.expires_after(std::chrono::seconds{opts_.read_timeout_s});
    bhttp::async_write(
        stream_, *res_,
        beast::bind_front_handler(&http_session::on_write, shared_from_this(), res_->keep_alive()));
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t) {
    res_.reset();
    if (ec || !keep_alive) {
      close();
      return;
    }
    read();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    // Read and discard what the client is still sending (e.g. the rest of an oversized body)
    // for a moment: closing with unread data would send a reset, and the client could lose the
    // 413/431 answer it has not read yet.
    stream_.expires_after(std::chrono::seconds{1});
    drain();
  }
  void drain() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) self->drain();
                            });
  }

  beast::tcp_stream stream_;
  const server_options& opts_;
  http_handler& handler_;
  beast::flat_buffer buffer_;
  boost::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<response> res_;
  std::array<char, 8192> discard_;
  std::shared_ptr<connection_slot> slot_;  // passed on to the WebSocket session on upgrade
};

// --- listener --------------------------------------------------------------------------------

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, tcp::endpoint ep, const server_options& opts,
           http_handler& handler)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), opts_(opts), handler_(handler) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void run() { accept(); }
  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  void accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (live_->load() >= opts_.max_connections) {
        // Over the cap: close at once rather than let idle or slow clients exhaust descriptors
        // and memory; clients see a closed connection and retry later.
        beast::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
        ++refused_;
      } else {
        std::make_shared<http_session>(std::move(socket), opts_, handler_,
                                       std::make_shared<connection_slot>(live_))
            ->run();
      }
    }
    accept();
  }

  std::shared_ptr<std::atomic<size_t>> live_ = std::make_shared<std::atomic<size_t>>(0);
  std::atomic<uint64_t> refused_{0};

 public:
  size_t live() const { return live_->load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  const server_options& opts_;
  http_handler& handler_;
};

}  // namespace

server::server(server_options opts, http_handler& handler)
    : opts_(std::move(opts)), handler_(handler), ioc_(opts_.threads) {}

server::~server() { stop(); }

void server::start() {
  auto address = net::ip::make_address(opts_.host);
  auto l = std::make_shared<listener>(ioc_, tcp::endpoint{address, opts_.port}, opts_, handler_);
  bound_port_ = l->port();
  l->run();
  listener_ = l;
  for (int i = 0; i < opts_.threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

size_t server::live_connections() const {
  return listener_ ? std::static_pointer_cast<listener>(listener_)->live() : 0;
}

uint64_t server::refused_connections() const {
  return listener_ ? std::static_pointer_cast<listener>(listener_)->refused() : 0;
}

void server::stop_accepting() {
  if (listener_) {
    std::static_pointer_cast<listener>(listener_)->stop();
    listener_.reset();
  }
}

void server::stop() {
  if (listener_) {
    std::static_pointer_cast<listener>(listener_)->stop();
    listener_.reset();
  }
  ioc_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace rtmon::http
