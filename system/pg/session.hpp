// A Postgres session for a long-lived adapter (raw writer, processing store): connect with a
// timeout and set the limits every such session needs.
#pragma once

#include <memory>
#include <string>

#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include "system/pg/url.hpp"

namespace rtmon::pg {

inline std::unique_ptr<pqxx::connection> open_session(const std::string& url) {
  auto conn = std::make_unique<pqxx::connection>(with_connect_timeout(url, 5));
  pqxx::nontransaction tx{*conn};
  tx.exec("set client_min_messages = warning");
  // A hung server or a lock wait must not block the owning actor's thread forever: the
  // statement fails and the caller retries later.
  tx.exec("set statement_timeout = '30s'");
  tx.exec("set idle_in_transaction_session_timeout = '60s'");
  return conn;
}

/// Runs f on an adapter's session; after a lost connection or a commit in doubt drops the
/// connection (`store.reset()`) so the next call starts afresh, and rethrows. Other errors leave
/// the session usable: the transaction was rolled back.
template <class Store, class F>
auto guarded(Store& store, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const pqxx::broken_connection&) {
    store.reset();
    throw;
  } catch (const pqxx::in_doubt_error&) {
    store.reset();
    throw;
  }
}

}  // namespace rtmon::pg
