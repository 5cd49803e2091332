// CPU priority for bulk work: the raw-row store is the costliest work per event, and on a box
// it shares with the alerting path it should get the CPU last. Kafka is its buffer, so a
// store that falls behind loses nothing; an alert that waits for the CPU is late.
#pragma once

#include <pqxx/connection>

namespace rtmon::pg {

/// Sets the calling thread's nice value (Linux: per thread; threads it creates later inherit
/// it). 0 leaves it alone.
void lower_thread_priority(int nice);

/// Sets the nice value of the connection's server process, only when it is verifiably this
/// connection's backend on this host: the server is reached over a Unix socket or loopback,
/// and /proc/<backend pid>/cmdline is a postgres backend serving this very client socket.
/// Anything else (a remote server, no permission) leaves it alone. Returns whether it was set.
bool lower_backend_priority(pqxx::connection& conn, int nice);

}  // namespace rtmon::pg
