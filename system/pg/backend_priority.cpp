#include "system/pg/backend_priority.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include <spdlog/spdlog.h>

namespace rtmon::pg {

namespace {

bool loopback(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_INET) {
    auto addr = ntohl(reinterpret_cast<const sockaddr_in&>(peer).sin_addr.s_addr);
    return (addr >> 24) == 127;
  }
  if (peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
  }
  return false;
}

// How the backend names its client in its process title: "[local]" or "<host>(<port>)".
std::string client_tag(int fd) {
  sockaddr_storage local{}, peer{};
  socklen_t ll = sizeof(local), pl = sizeof(peer);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) return {};
  if (local.ss_family == AF_UNIX) return "[local]";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0 || !loopback(peer)) return {};
  auto port = local.ss_family == AF_INET
                  ? ntohs(reinterpret_cast<const sockaddr_in&>(local).sin_port)
                  : ntohs(reinterpret_cast<const sockaddr_in6&>(local).sin6_port);
  return "(" + std::to_string(port) + ")";
}

}  // namespace

void lower_thread_priority(int nice) {
  if (nice <= 0) return;
  auto tid = static_cast<id_t>(syscall(SYS_gettid));
  if (setpriority(PRIO_PROCESS, tid, nice) != 0)
    spdlog::debug("store: cannot lower the priority of thread {}", tid);
}

bool lower_backend_priority(pqxx::connection& conn, int nice) {
  if (nice <= 0) return false;
  auto tag = client_tag(conn.sock());
  if (tag.empty()) return false;  // not on this host
  auto pid = conn.backendpid();
  std::ifstream in{"/proc/" + std::to_string(pid) + "/cmdline"};
  std::string title{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  // A container or another host's pid namespace would not show our backend here.
  if (title.rfind("postgres: ", 0) != 0 || title.find(tag) == std::string::npos) return false;
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(pid), nice) != 0) {
    spdlog::debug("store: cannot lower the priority of Postgres backend {} (permission)", pid);
    return false;
  }
  return true;
}

}  // namespace rtmon::pg
