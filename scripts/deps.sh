#!/usr/bin/env bash
# Installs what beseda needs from Debian's packages (as root), or prints the
# one apt-get line to run. Used by `make run` and `make test`.
set -euo pipefail
PACKAGES=(build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libczmq-dev libzmq3-dev
          libhiredis-dev libpq-dev libwebsockets-dev libev-dev libjansson-dev libsodium-dev libmicrohttpd-dev libcurl4-openssl-dev libmaxminddb-dev
          postgresql redis-server nodejs npm chromium ca-certificates curl
          docker-compose haproxy iproute2    # the compose proof: config check, balancer, ss
          clang libclang-rt-14-dev           # the fuzz smoke (tests/fuzz, libFuzzer)
          mmdb-bin)                          # mmdblookup: the GeoIP test checks its .mmdb writer with it
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm may come from elsewhere than Debian (e.g. a preinstalled node): accept them on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]}"
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "beseda needs these Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
