#!/usr/bin/env bash
# Installs what beseda needs from Debian's packages (as root), or prints the
# one apt-get line to run. `scripts/deps.sh run` (make run): what building and
# running the demo needs. `scripts/deps.sh test` (make test, the default):
# that and the test tooling on top.
# `--list run|test` prints the packages, one a line, and installs nothing.
set -euo pipefail
list=0
if [ "${1:-}" = --list ]; then list=1; shift; fi
what=${1:-test}
RUN_PACKAGES=(build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libczmq-dev libzmq3-dev
          libhiredis-dev libpq-dev libwebsockets-dev libev-dev libjansson-dev libsodium-dev libmicrohttpd-dev libcurl4-openssl-dev libmaxminddb-dev
          postgresql redis-server ca-certificates curl
          nodejs                             # the demo's mail sink, the web build (scripts/build-web.mjs)
          brotli                             # the web build's precompressed .br files
          iproute2)                          # ss: run.sh names the program holding a taken port
TEST_PACKAGES=(npm chromium                  # the test runner's packages, the browser tests
          docker-compose haproxy             # the compose proof: config check, balancer
          clang libclang-rt-14-dev           # the fuzz smoke (tests/fuzz, libFuzzer)
          mmdb-bin)                          # mmdblookup: the GeoIP test checks its .mmdb writer with it
case $what in
    run) PACKAGES=("${RUN_PACKAGES[@]}") ;;
    test) PACKAGES=("${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
    *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac
if [ "$list" -eq 1 ]; then printf '%s\n' "${PACKAGES[@]}"; exit 0; fi
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm may come from elsewhere than Debian (e.g. a preinstalled node): accept them on PATH.
if command -v node >/dev/null; then missing=("${missing[@]/nodejs}"); fi
if command -v npm >/dev/null; then missing=("${missing[@]/npm}"); fi
read -r -a missing <<< "${missing[*]}"
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "beseda needs these Debian packages ($what); run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
