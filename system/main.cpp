// rtmon: real-time monitoring hub. Subcommands: serve (default), migrate, check-config, version.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "system/config.hpp"
#include "system/serve.hpp"

namespace {

void usage() {
  std::puts(
      "usage: rtmon [serve|migrate|check-config|version] [options]\n"
      "  serve         run the hub (roles from rtmon.roles / RTMON_ROLES)\n"
      "  migrate       apply pending database migrations and exit\n"
      "  check-config  validate the configuration and print it (secrets masked)\n"
      "  version       print the version\n"
      "options: --config-file=PATH (default config/rtmon.ini), --kafka.brokers=..., "
      "--http.addr=...,\n"
      "         --long-help lists every option");
}

}  // namespace

int main(int argc, char** argv) {
  std::string command = "serve";
  int first = 1;
  if (argc > 1 && argv[1][0] != '-') {
    command = argv[1];
    first = 2;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    usage();
    return 0;
  }
  if (command == "version") {
    std::puts(RTMON_VERSION);
    return 0;
  }
  if (command != "serve" && command != "migrate" && command != "check-config") {
    std::fprintf(stderr, "rtmon: unknown command '%s'\n", command.c_str());
    usage();
    return 2;
  }
  rtmon::config cfg;
  std::vector<std::string> args(argv + first, argv + argc);
  if (auto err = cfg.load(std::move(args)); !err.empty()) {
    std::fprintf(stderr, "rtmon: configuration error: %s\n", err.c_str());
    return 2;
  }
  if (cfg.cli_helptext_printed) return 0;
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  if (command == "check-config") {
    std::string problem;
    auto rules = rtmon::load_rules(cfg, problem);
    if (!rules) {
      std::fprintf(stderr, "rtmon: %s\n", problem.c_str());
      return 2;
    }
    std::printf("configuration ok: %s rules=%zu (%s)\n", cfg.describe().c_str(),
                rules->rules.size(), cfg.processing.rules_file.c_str());
    return 0;
  }
  if (command == "migrate") return rtmon::migrate_command(cfg);
  return rtmon::serve(cfg);
}
