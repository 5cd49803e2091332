#include "system/notify/send.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <curl/curl.h>

#include "system/notify/render.hpp"

namespace rtmon::notify {

namespace {

constexpr size_t body_keep = 4096;  // of an answer's body, for the error text
constexpr size_t error_max = 300;   // bytes of error text kept in the attempt

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// RAII for the two libcurl handles we use.
struct easy_handle {
  CURL* h = curl_easy_init();
  ~easy_handle() {
    if (h) curl_easy_cleanup(h);
  }
};
struct string_list {
  curl_slist* list = nullptr;
  void add(const std::string& s) {
    if (auto* next = curl_slist_append(list, s.c_str())) list = next;
  }
  ~string_list() { curl_slist_free_all(list); }
};

// What one transfer exchanges with the callbacks.
struct exchange {
  std::string body;         // the first body_keep bytes of the answer
  std::string retry_after;  // of the last response's headers
  std::string_view upload;  // SMTP: the message
  size_t uploaded = 0;      // == upload.size(): the whole message was handed to libcurl (with the
                            // size known, libcurl never asks for the end, so count, not a flag)
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& x = *static_cast<exchange*>(user);
  size_t n = size * count;
  if (x.body.size() < body_keep) x.body.append(data, std::min(n, body_keep - x.body.size()));
  return n;  // read the rest too: aborting would turn a clean answer into an error
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& x = *static_cast<exchange*>(user);
  std::string_view line(data, size * count);
  if (starts_with_nocase(line, "http/")) x.retry_after.clear();  // a new response begins
  if (starts_with_nocase(line, "retry-after:"))
    x.retry_after = trim(line.substr(std::strlen("retry-after:")));
  return size * count;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto& x = *static_cast<exchange*>(user);
  size_t n = std::min(size * count, x.upload.size() - x.uploaded);
  std::memcpy(buffer, x.upload.data() + x.uploaded, n);
  x.uploaded += n;
  return n;
}

// "Name <addr@host>" -> "<addr@host>"; a bare address gets the brackets.
std::string envelope_address(const std::string& s) {
  auto open = s.rfind('<');
  auto close = s.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open)
    return s.substr(open, close - open + 1);
  return "<" + trim(s) + ">";
}

// Error text never carries a secret: the URL's path and query (Slack's token), userinfo, the
// password and the values of extra headers are cut out of whatever libcurl or a server says.
std::string scrub(std::string text, const channel& ch) {
  std::vector<std::pair<std::string, size_t>> secrets;  // value, shortest length worth hiding
  // URL parts shorter than 8 ("/hook") are no secret and would mangle ordinary words.
  if (auto scheme = ch.url.find("://"); scheme != std::string::npos) {
    auto rest = ch.url.substr(scheme + 3);
    auto slash = rest.find_first_of("/?#");
    if (slash != std::string::npos) secrets.emplace_back(rest.substr(slash + 1), 8);
    auto authority = rest.substr(0, slash);
    if (auto at = authority.rfind('@'); at != std::string::npos)
      secrets.emplace_back(authority.substr(0, at), 1);
  }
  secrets.emplace_back(ch.password, 1);
  for (const auto& h : ch.headers)
    if (auto colon = h.find(':'); colon != std::string::npos)
      secrets.emplace_back(trim(h.substr(colon + 1)), 4);
  for (const auto& [s, min] : secrets) {
    if (s.empty() || s.size() < min) continue;
    for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 3))
      text.replace(pos, s.size(), "***");
  }
  return text;
}

// One line of printable text, bounded, cut at a UTF-8 boundary.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  return clip(trim(out), error_max);
}

bool is_config_error(CURLcode rc) {
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_USE_SSL_FAILED:
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
    case CURLE_TOO_MANY_REDIRECTS:
      return true;
    default:
      return false;
  }
}

bool is_connect_error(CURLcode rc) {
  return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
         rc == CURLE_COULDNT_CONNECT;
}

// A transport error with no status to go by: did the request (possibly) reach the receiver?
delivery_outcome transport_outcome(CURLcode rc, bool went_out) {
  if (is_config_error(rc)) return delivery_outcome::failed;
  if (is_connect_error(rc)) return delivery_outcome::retry;
  return went_out ? delivery_outcome::ambiguous : delivery_outcome::retry;
}

delivery_outcome http_outcome(long status) {
  if (status >= 200 && status < 300) return delivery_outcome::delivered;
  if (status == 408 || status == 425 || status == 429 || status >= 500)
    return delivery_outcome::retry;
  return delivery_outcome::failed;
}

void set_common(CURL* h, const channel& ch, exchange& x, char* errbuf) {
  long timeout = std::max(ch.timeout_ms, 1);
  curl_easy_setopt(h, CURLOPT_URL, ch.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout, 5000L));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
}

void http_request(CURL* h, const channel& ch, const notification& n, const std::string& body,
                  string_list& headers, exchange& x) {
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_USERAGENT, "rtmon/" RTMON_VERSION);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
  headers.add("Content-Type: application/json");
  headers.add("Expect:");  // no 100-continue round trip for larger bodies
  if (ch.kind == channel_kind::webhook) {
    headers.add("Idempotency-Key: " + n.idem_key);
    for (const auto& extra : ch.headers)
      if (extra.find(':') != std::string::npos && extra.find_first_of("\r\n") == std::string::npos)
        headers.add(extra);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.list);
}

void smtp_request(CURL* h, const channel& ch, const std::string& from, string_list& rcpt,
                  exchange& x) {
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
  for (const auto& r : ch.to) rcpt.add(envelope_address(r));
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.list);
  // STARTTLS when offered; required when configured, and whenever credentials would go out.
  bool need_tls = ch.require_tls || !ch.user.empty();
  curl_easy_setopt(h, CURLOPT_USE_SSL, need_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY);
  if (!ch.user.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, ch.user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, ch.password.c_str());
  }
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(h, CURLOPT_READDATA, &x);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(x.upload.size()));
}

}  // namespace

int64_t parse_retry_after(std::string_view value, int64_t now_ms) {
  auto v = trim(value);
  if (v.empty()) return -1;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 9) return 999999999LL * 1000;  // clamped: no overflow on absurd values
    return std::stoll(v) * 1000;
  }
  auto t = curl_getdate(v.c_str(), nullptr);
  if (t == -1) return -1;
  return std::max<int64_t>(0, static_cast<int64_t>(t) * 1000 - now_ms);
}

delivery_attempt send(const channel& ch, const notification& n) {
  delivery_attempt a;
  a.notification_id = n.id;
  a.attempt = n.attempt;
  a.started_ms = unix_ms_now();
  auto t0 = std::chrono::steady_clock::now();
  auto finish = [&](delivery_outcome o, std::string error) {
    a.latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    a.outcome = o;
    a.error = o == delivery_outcome::delivered ? std::string{} : one_line(scrub(error, ch));
    return a;
  };
  // The contract: a notification with a mute reason is recorded, never sent.
  if (!n.mute.empty()) {
    finish(delivery_outcome::muted, {});
    a.error = one_line(n.mute);
    return a;
  }
  try {
    global_init();
    bool smtp = ch.kind == channel_kind::email;
    if (smtp && (ch.to.empty() || ch.from.empty()))
      return finish(delivery_outcome::failed, "email channel without sender or recipients");
    // Everything the handle points to is declared first, so it outlives the handle: its
    // cleanup still talks to an SMTP server (QUIT) and may write errbuf.
    exchange x;
    char errbuf[CURL_ERROR_SIZE] = {0};
    string_list headers, rcpt;
    std::string body, from;
    easy_handle easy;
    if (!easy.h) return finish(delivery_outcome::retry, "curl_easy_init failed");
    set_common(easy.h, ch, x, errbuf);
    if (smtp) {
      body = render_email(ch, n, a.started_ms).data;
      from = envelope_address(ch.from);
      x.upload = body;
      smtp_request(easy.h, ch, from, rcpt, x);
    } else {
      body = ch.kind == channel_kind::slack ? render_slack(ch, n) : render_webhook(ch, n);
      http_request(easy.h, ch, n, body, headers, x);
    }
    CURLcode rc = curl_easy_perform(easy.h);
    long code = 0;
    curl_easy_getinfo(easy.h, CURLINFO_RESPONSE_CODE, &code);
    a.status_code = static_cast<int>(code);
    std::string curl_error = std::string(curl_easy_strerror(rc)) + (errbuf[0] ? ": " : "") + errbuf;

    if (smtp) {
      if (rc == CURLE_OK) {
        a.status_code = code ? a.status_code : 250;
        return finish(delivery_outcome::delivered, {});
      }
      auto what = "SMTP " + (code ? std::to_string(code) + " " : std::string{}) + curl_error;
      if (code >= 400 && code < 500) return finish(delivery_outcome::retry, what);
      if (code >= 500 && code < 600) return finish(delivery_outcome::failed, what);
      // No verdict from the server: only a whole message handed over may have been kept.
      return finish(transport_outcome(rc, x.uploaded == x.upload.size()), what);
    }

    if (!x.retry_after.empty()) a.retry_after_ms = parse_retry_after(x.retry_after, unix_ms_now());
    if (code > 0) {  // the receiver answered: its status decides, even if the body broke off
      auto o = http_outcome(code);
      auto what = "HTTP " + std::to_string(code) + (x.body.empty() ? "" : ": " + x.body);
      if (rc != CURLE_OK && o != delivery_outcome::delivered) what += " (" + curl_error + ")";
      return finish(o, what);
    }
    curl_off_t pretransfer = 0;  // > 0: libcurl began sending the request
    curl_easy_getinfo(easy.h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    return finish(transport_outcome(rc, pretransfer > 0), curl_error);
  } catch (const std::exception& e) {  // bad_alloc and the like: nothing went out for certain
    return finish(delivery_outcome::retry, std::string("internal error: ") + e.what());
  }
}

}  // namespace rtmon::notify
