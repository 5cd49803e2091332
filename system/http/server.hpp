// The Boost.Beast listener: HTTP/1.1 sessions (keep-alive, one request at a time, bounded
// reads with deadlines) and WebSocket sessions, both handing work to an `http_handler` that
// answers asynchronously. No handler ever blocks an I/O thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace rtmon::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;
using respond_fn = std::function<void(response)>;
/// Sends one text frame to a WebSocket client (thread-safe, queued per session).
using ws_send_fn = std::function<void(std::string)>;
/// Closes a WebSocket session with a reason (thread-safe).
using ws_close_fn = std::function<void(std::string)>;
/// A live push subscription: destroying it unregisters it.
using stream_handle = std::shared_ptr<void>;

class http_handler {
 public:
  virtual ~http_handler() = default;
  /// Answers a request by calling `respond` once, from any thread.
  virtual void handle(request&& req, respond_fn respond) = 0;
  /// True if `target` is a WebSocket endpoint.
  virtual bool accepts_websocket(const std::string& target) const = 0;
  /// Text frame number `frame` (1, 2, ... per connection) from a WebSocket client on
  /// `target`. The handler calls `send` exactly once with the frame's reply; the session counts
  /// the frame as in flight until that reply is written to the socket.
  virtual void handle_frame(const std::string& target, uint64_t frame, std::string text,
                            ws_send_fn send) = 0;
  /// Push mode: for a WebSocket `target` that streams server messages (frames from the client
  /// are read and ignored), the subscription that calls `send` for every message; `close`
  /// ends the session. Null: not a stream target (request/response frames then).
  virtual stream_handle open_stream(const std::string& /*target*/, ws_send_fn /*send*/,
                                    ws_close_fn /*close*/) {
    return nullptr;
  }
};

struct server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 4000;
  int threads = 1;
  size_t body_limit = 1u << 20;
  size_t header_limit = 16384;
  size_t ws_frame_limit = 1u << 20;
  size_t ws_max_inflight = 64;  // frames being processed per WebSocket session
  int read_timeout_s = 30;
  size_t max_connections = 4096;  // beyond it new connections are closed at once
  int ws_idle_timeout_s = 120;
  // Push mode: messages queued for a client that reads slower than they come; beyond it the
  // session is closed (the client reconnects and resumes) instead of buffering without bound.
  size_t ws_max_queued = 1000;
};

class server {
 public:
  server(server_options opts, http_handler& handler);
  ~server();
  /// Binds and starts the I/O threads. Throws if the address cannot be bound.
  void start();
  /// The bound port (useful with port 0).
  uint16_t port() const { return bound_port_; }
  /// Open connections, and connections closed at once because of max_connections.
  size_t live_connections() const;
  uint64_t refused_connections() const;
  /// Closes the listening socket; open connections keep being served.
  void stop_accepting();
  /// Stops accepting and joins the I/O threads.
  void stop();

 private:
  server_options opts_;
  http_handler& handler_;
  boost::asio::io_context ioc_;
  std::vector<std::thread> threads_;
  std::shared_ptr<void> listener_;
  uint16_t bound_port_ = 0;
};

/// A JSON error body: {"error": message}.
response json_response(unsigned status, const std::string& body, bool keep_alive = true);

}  // namespace rtmon::http
