#!/usr/bin/env bash
# Installs what the benchmark needs beyond beseda's own packages (as root):
# the two baseline brokers and gnuplot for the plots. Prints the apt-get line
# instead when not root.
set -euo pipefail
PACKAGES=(mosquitto rabbitmq-server gnuplot-nox iproute2 util-linux libev-dev)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "the benchmark needs these Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
# policy-rc.d 101: install the brokers without starting their system services;
# the benchmark starts its own instances on loopback in temp dirs.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1; fi
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { [ $made_policy = 1 ] && rm -f "$policy"; exit 1; }
[ $made_policy = 1 ] && rm -f "$policy"
exit 0
