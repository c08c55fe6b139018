#!/usr/bin/env bash
# `make run`: a demo cluster on this machine. PostgreSQL and Redis run from
# Debian's packages on loopback ports; then 1 broker, 1 store, 2 routers and
# 1 gateway. A demo site and operator are created once and kept in ./var.
# Ctrl-C stops every process this script started.
#
# The database files: as a normal user in ./var/pg. As root PostgreSQL runs as
# the postgres account, which may not be able to enter the checkout (a clone
# in /root or any 0700 directory), so they live in
# /var/lib/beseda-demo/<first 12 hex of sha256 of the checkout path>/pg, owned
# by postgres (BESEDA_DEMO_PG_DIR moves it; the banner prints it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VAR=$ROOT/var
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
PG_PORT=${BESEDA_DEMO_PG_PORT:-55432}
REDIS_PORT=${BESEDA_DEMO_REDIS_PORT:-56379}
HTTP_PORT=${BESEDA_HTTP_PORT:-8080}
mkdir -p "$VAR/log"
if [ "$(id -u)" -eq 0 ]; then
    PG_ROOT=${BESEDA_DEMO_PG_DIR:-/var/lib/beseda-demo/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)}
else
    PG_ROOT=${BESEDA_DEMO_PG_DIR:-$VAR}
fi
PG_DATA=$PG_ROOT/pg
PG_LOG=$PG_ROOT/postgres.log
[ "$PG_ROOT" = "$VAR" ] && PG_LOG=$VAR/log/postgres.log

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pids=()
cleanup() {
    trap - INT TERM EXIT
    echo; echo "stopping..."
    # In the reverse order of starting: gateways drain first (their clients
    # are told to reconnect while the routers and store still answer), the
    # broker and Redis last.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w >/dev/null 2>&1 || true
    echo "stopped"
    exit 0
}
trap cleanup INT TERM EXIT

if [ "$(id -u)" -eq 0 ]; then
    # Every directory on the way must be enterable by postgres.
    [ -d "$(dirname "$PG_ROOT")" ] || mkdir -p -m 755 "$(dirname "$PG_ROOT")"
    install -d -m 700 -o postgres -g postgres "$PG_ROOT"
    # An older demo kept its database in ./var/pg: move it once.
    if [ "$PG_ROOT" != "$VAR" ] && [ -f "$VAR/pg/PG_VERSION" ] && [ ! -e "$PG_DATA" ]; then
        mv "$VAR/pg" "$PG_DATA"
    fi
fi
if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    mkdir -p "$PG_DATA"
    [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U beseda -E UTF8 >/dev/null
fi
[ "$(id -u)" -eq 0 ] && chown -R postgres "$PG_DATA"
[ "$PG_LOG" = "$VAR/log/postgres.log" ] || ln -sfn "$PG_LOG" "$VAR/log/postgres.log"
as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -w -l "$PG_LOG" \
    -o "-p $PG_PORT -k $PG_ROOT -c listen_addresses=127.0.0.1" >/dev/null
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U beseda beseda 2>/dev/null || true

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$VAR" \
    > "$VAR/log/redis.log" 2>&1 &
pids+=($!)

export BESEDA_PG="host=127.0.0.1 port=$PG_PORT dbname=beseda user=beseda"
export BESEDA_REDIS_HOST=127.0.0.1 BESEDA_REDIS_PORT=$REDIS_PORT
export BESEDA_HTTP_HOST=${BESEDA_HTTP_HOST:-127.0.0.1} BESEDA_HTTP_PORT=$HTTP_PORT
export BESEDA_WEB_ROOT=$ROOT/web
if [ ! -f "$VAR/secret" ]; then head -c 32 /dev/urandom | base64 > "$VAR/secret"; chmod 600 "$VAR/secret"; fi
BESEDA_SECRET=$(cat "$VAR/secret"); export BESEDA_SECRET

B=$ROOT/build
# Each process gets an admin listener (/metrics, /healthz, /readyz) on its own
# loopback port, from ADMIN_BASE up (docs/OPERATIONS.md).
ADMIN_BASE=${BESEDA_ADMIN_BASE:-9100}
admin_port=$ADMIN_BASE
admin_urls=()
start() {
    local name=$1; shift
    BESEDA_NAME=$name BESEDA_ADMIN_ADDR=127.0.0.1:$admin_port "$@" >> "$VAR/log/$name.log" 2>&1 &
    pids+=($!)
    admin_urls+=("$(printf '  %-10s http://127.0.0.1:%s/metrics' "$name" "$admin_port")")
    admin_port=$((admin_port + 1))
}
start broker "$B/beseda-broker"
"$B/beseda-store" migrate >> "$VAR/log/store.log" 2>&1
start store-1 "$B/beseda-store"
start router-1 "$B/beseda-router"
start router-2 "$B/beseda-router"
start gateway-1 "$B/beseda-gateway"

if [ ! -f "$VAR/demo.env" ]; then
    site=$("$B/beseda-store" create-site --name "Demo shop")
    password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 12)
    "$B/beseda-store" create-operator --site "$site" --email demo@beseda.local \
        --password "$password" --name "Demo operator" --role admin >/dev/null
    printf 'SITE=%s\nEMAIL=%s\nPASSWORD=%s\n' "$site" demo@beseda.local "$password" > "$VAR/demo.env"
    chmod 600 "$VAR/demo.env"
fi
# shellcheck disable=SC1091
. "$VAR/demo.env"

for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
cat <<EOT

beseda is running (logs in var/log/, database files in $PG_DATA).
  demo page with the chat widget:  http://127.0.0.1:$HTTP_PORT/demo.html?site=$SITE
  operator console:                http://127.0.0.1:$HTTP_PORT/console/
  operator login:                  $EMAIL / $PASSWORD
  embed snippet for your pages:    <script src="http://127.0.0.1:$HTTP_PORT/widget.js" data-site="$SITE" async></script>

metrics (also /healthz and /readyz on each port):
$(printf '%s\n' "${admin_urls[@]}")

Press Ctrl-C to stop.
EOT
wait -n "${pids[@]}" || true
echo "a process exited; see var/log/" >&2
exit 1
