// A small RAII helper for librdkafka configuration objects: set() throws with the property name
// and librdkafka's message, so misconfiguration fails loudly at start.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

namespace rtmon::kafka {

/// A real metadata round trip with the brokers through any client handle (for /readyz).
inline bool metadata_round_trip(rd_kafka_t* rk, int timeout_ms) {
  const struct rd_kafka_metadata* md = nullptr;
  auto err = rd_kafka_metadata(rk, 0, nullptr, &md, timeout_ms);
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

class config_builder {
 public:
  config_builder() : conf_(rd_kafka_conf_new()) {
    // librdkafka's own messages go through spdlog like everything else (syslog levels).
    rd_kafka_conf_set_log_cb(
        conf_, [](const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
          auto lvl = level <= 3   ? spdlog::level::err
                     : level == 4 ? spdlog::level::warn
                     : level <= 6 ? spdlog::level::info
                                  : spdlog::level::debug;
          spdlog::log(lvl, "kafka {} {}: {}", rk ? rd_kafka_name(rk) : "", fac, buf);
        });
  }
  ~config_builder() {
    if (conf_ != nullptr) rd_kafka_conf_destroy(conf_);
  }
  config_builder(const config_builder&) = delete;
  config_builder& operator=(const config_builder&) = delete;

  void set(const std::string& key, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf_, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
      throw std::runtime_error("kafka config " + key + ": " + err);
  }
  /// Applies "key=value" entries (kafka.properties).
  void set_all(const std::vector<std::string>& properties) {
    for (const auto& kv : properties) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw std::runtime_error("kafka.properties: '" + kv + "' is not key=value");
      set(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  rd_kafka_conf_t* get() { return conf_; }

  /// Creates the client; the configuration object then belongs to it.
  rd_kafka_t* create(rd_kafka_type_t type) {
    char err[512];
    auto rk = rd_kafka_new(type, conf_, err, sizeof(err));
    if (rk == nullptr) throw std::runtime_error(std::string{"kafka client: "} + err);
    conf_ = nullptr;
    return rk;
  }

 private:
  rd_kafka_conf_t* conf_;
};

}  // namespace rtmon::kafka
