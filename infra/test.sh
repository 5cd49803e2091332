#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh Debian 12 machine: installs what is
# missing, builds, then runs every test through CTest (unit, integration against a real Kafka
# broker and PostgreSQL that the suite starts on its own ports, lint). Extra arguments go to
# ctest, e.g. `infra/test.sh -L unit` or `infra/test.sh -R integration.ingest`.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bash "$ROOT/infra/deps.sh"
bash "$ROOT/infra/kafka.sh" install  # fetch the broker's jars before any test's clock starts
bash "$ROOT/infra/build.sh"
cd "${RTMON_BUILD_DIR:-$ROOT/build}"
exec ctest --output-on-failure --timeout 900 "$@"
