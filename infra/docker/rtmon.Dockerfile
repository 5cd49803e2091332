# syntax=docker/dockerfile:1
# rtmon hub image. Build from the repo root (infra/docker-compose.yml does this):
#   docker build -f infra/docker/rtmon.Dockerfile -t rtmon:local .
# Stage 1 builds with Debian 12's packages (the same as infra/deps.sh); stage 2 is debian:12-slim with
# only the shared libraries the binary links, run as a non-root user.

############################ build ############################
FROM debian:12 AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libcaf-dev librdkafka-dev libpqxx-dev \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libspdlog-dev libcurl4-openssl-dev libssl-dev libjemalloc-dev \
      nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# Drop host leftovers that may ride along in the build context (a host build dir's CMakeCache.txt
# points at another source dir and would break the configure step; .rtmon holds local runtime state).
RUN rm -rf build .rtmon ui/node_modules ui/dist

RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build --target rtmon \
 && strip build/rtmon

# The web UI, when the repo has one.
RUN if [ -f ui/package.json ]; then \
      cd ui && { if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi; } \
      && npm run build; \
    fi \
 && mkdir -p ui/dist

# The Debian packages that own the shared libraries rtmon links (installed again in the runtime stage,
# so a new dependency cannot be forgotten in the list below).
RUN ldd build/rtmon | awk '$2 == "=>" && $3 ~ /^\// {print $3}' \
    | while read -r f; do \
        dpkg -S "$f" 2>/dev/null || dpkg -S "$(realpath "$f")" 2>/dev/null || dpkg -S "/usr$f" 2>/dev/null \
        || { echo "no package owns $f" >&2; exit 1; }; \
      done \
    | cut -d: -f1 | sort -u > /src/build/runtime-packages.txt \
 && cat /src/build/runtime-packages.txt

############################ runtime ############################
FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /src/build/runtime-packages.txt /tmp/runtime-packages.txt
# Runtime libraries: libcaf-core0.17, librdkafka1, libpqxx-6.4 (+ libpq5), libboost-json1.81.0,
# libboost-url1.81.0, libspdlog1.10 (+ libfmt9), libcurl4, libssl3, libjemalloc2; plus whatever
# ldd found, plus curl for the healthcheck.
# hadolint ignore=DL3008,SC2046
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates curl tzdata \
      libcaf-core0.17 librdkafka1 libpqxx-6.4 libpq5 \
      libboost-json1.81.0 libboost-url1.81.0 libspdlog1.10 libfmt9 \
      libcurl4 libssl3 libjemalloc2 \
      $(cat /tmp/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && useradd --system --uid 10001 --user-group --home-dir /opt/rtmon --no-create-home --shell /usr/sbin/nologin rtmon

WORKDIR /opt/rtmon
COPY --from=build /src/build/rtmon /opt/rtmon/rtmon
COPY --from=build /src/config /opt/rtmon/config
COPY --from=build /src/ui/dist /opt/rtmon/ui/dist

ENV RTMON_HTTP_ADDR=0.0.0.0:4000 \
    RTMON_UI_DIR=/opt/rtmon/ui/dist
EXPOSE 4000
USER rtmon
CMD ["/opt/rtmon/rtmon", "serve", "--config-file=/opt/rtmon/config/rtmon.ini"]
