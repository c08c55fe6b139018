#!/usr/bin/env bash
# `make run`: a demo cluster on this machine. PostgreSQL and Redis run from
# Debian's packages on loopback ports; then 1 broker, 1 store, 2 routers and
# 1 gateway, and a mail sink that writes the demo's mail to var/mail/
# (scripts/mail-sink.mjs). A demo site and operator are created once and
# kept in ./var. Every port is checked first (a taken one stops everything,
# naming it and its variable); each process must answer its readiness check,
# and one that exits ends the script with a non-zero status. Ctrl-C stops
# every process this script started (exit 0).
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
SMTP_PORT=${BESEDA_DEMO_SMTP_PORT:-2525}
ADMIN_BASE=${BESEDA_ADMIN_BASE:-9100}
export BESEDA_BROKER=${BESEDA_BROKER:-tcp://127.0.0.1:5570}
export BESEDA_BROKER_PUB=${BESEDA_BROKER_PUB:-tcp://127.0.0.1:5571}
export BESEDA_BROKER_SUB=${BESEDA_BROKER_SUB:-tcp://127.0.0.1:5572}
# The processes, in the order they start; each gets an admin listener
# (/metrics, /healthz, /readyz) on its own loopback port from ADMIN_BASE up.
NAMES=(broker store-1 router-1 router-2 gateway-1)

# Every port this demo takes, checked before anything is started or printed:
# a taken port must not look like success (the banner would point at the other
# program). "port|what|variable" per line.
ports_wanted() {
    echo "$HTTP_PORT|HTTP: widget, console, API|BESEDA_HTTP_PORT"
    echo "$PG_PORT|PostgreSQL|BESEDA_DEMO_PG_PORT"
    echo "$REDIS_PORT|Redis|BESEDA_DEMO_REDIS_PORT"
    echo "$SMTP_PORT|demo mail sink (SMTP)|BESEDA_DEMO_SMTP_PORT"
    echo "${BESEDA_BROKER##*:}|broker bus (requests)|BESEDA_BROKER"
    echo "${BESEDA_BROKER_PUB##*:}|broker bus (publish)|BESEDA_BROKER_PUB"
    echo "${BESEDA_BROKER_SUB##*:}|broker bus (deliveries)|BESEDA_BROKER_SUB"
    local i
    for i in "${!NAMES[@]}"; do
        echo "$((ADMIN_BASE + i))|admin listener of ${NAMES[i]}; the admin ports are BESEDA_ADMIN_BASE..+$((${#NAMES[@]} - 1))|BESEDA_ADMIN_BASE"
    done
}
# Prints the program listening on TCP port $1 ("name (pid N)"), "" if none is
# known; returns 1 if nothing listens there.
port_holder() {
    local port=$1 line
    if command -v ss >/dev/null; then
        line=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -1)
        [ -n "$line" ] || return 1
        if [[ $line =~ users:\(\(\"([^\"]+)\",pid=([0-9]+) ]]; then
            echo "${BASH_REMATCH[1]} (pid ${BASH_REMATCH[2]})"
        fi
        return 0
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}
if [ "$(id -u)" -eq 0 ]; then
    PG_ROOT=${BESEDA_DEMO_PG_DIR:-/var/lib/beseda-demo/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)}
else
    PG_ROOT=${BESEDA_DEMO_PG_DIR:-$VAR}
fi
PG_DATA=$PG_ROOT/pg
PG_LOG=$PG_ROOT/postgres.log
[ "$PG_ROOT" = "$VAR" ] && PG_LOG=$VAR/log/postgres.log
[ "$(id -u)" -eq 0 ] && SUDO_PG=1
busy=0
while IFS='|' read -r port what var; do
    if holder=$(port_holder "$port"); then
        echo "beseda: port $port ($what) is already taken${holder:+ by $holder}; free it or set $var to another port" >&2
        # This checkout's own PostgreSQL, left by a make run that was killed.
        if [ "$port" = "$PG_PORT" ] && [ -n "$holder" ] && [ -r "$PG_DATA/postmaster.pid" ] \
           && [ "$holder" = "postgres (pid $(head -1 "$PG_DATA/postmaster.pid"))" ]; then
            echo "beseda:   it is this demo's own database, left running; stop it with:" >&2
            echo "beseda:   ${SUDO_PG:+runuser -u postgres -- }$PG_BIN/pg_ctl stop -D $PG_DATA" >&2
        fi
        busy=1
    fi
done < <(ports_wanted)
if [ "$busy" -ne 0 ]; then
    echo "beseda: nothing started" >&2
    exit 1
fi
# `run.sh --check-ports`: only this check (make run does it before building).
[ "${1:-}" = --check-ports ] && exit 0
mkdir -p "$VAR/log"

# From /: the postgres account may not be able to enter the checkout.
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
pids=()
pid_names=()
# Says which process exited (and the end of its log); exits non-zero.
died() {
    echo "beseda: $1 exited${2:+ $2}; the end of var/log/$1.log:" >&2
    tail -n 5 "$VAR/log/$1.log" >&2 2>/dev/null || true
    exit 1
}
# True if TCP port $1 is listened on by process $2 (when ss can tell): a port
# taken by another program after the check must not pass for ours.
listening_ours() {
    command -v ss >/dev/null || return 0
    ss -Hltnp "sport = :$1" 2>/dev/null | grep -q "pid=$2,"
}
# True if http://127.0.0.1:$1$2 answers 2xx and process $3 listens on port $1.
http_ready() { curl -fs "http://127.0.0.1:$1$2" >/dev/null 2>&1 && listening_ours "$1" "$3"; }
# Waits until command "$2..." succeeds while the process of pids[$1] lives.
wait_ready() {
    local i=$1; shift
    for _ in $(seq 1 300); do
        "$@" >/dev/null 2>&1 && return 0
        kill -0 "${pids[i]}" 2>/dev/null || died "${pid_names[i]}" "during start"
        sleep 0.1
    done
    echo "beseda: ${pid_names[i]} did not become ready in 30 s; see var/log/${pid_names[i]}.log" >&2
    exit 1
}
# Ctrl-C or SIGTERM: stop everything, exit 0. Any other way out (a process
# that did not start or exited, a failed step): stop everything, exit non-zero.
cleanup() {
    local rc=$1
    trap '' INT TERM    # a second Ctrl-C must not cut the stopping short
    trap - EXIT
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
    exit "$rc"
}
trap 'cleanup 0' INT TERM
trap 'cleanup $?' EXIT

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

redis_ready() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && listening_ours "$REDIS_PORT" "${pids[0]}"; }
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$VAR" \
    > "$VAR/log/redis.log" 2>&1 &
pids+=($!)
pid_names+=(redis)

export BESEDA_PG="host=127.0.0.1 port=$PG_PORT dbname=beseda user=beseda"
export BESEDA_REDIS_HOST=127.0.0.1 BESEDA_REDIS_PORT=$REDIS_PORT
export BESEDA_HTTP_HOST=${BESEDA_HTTP_HOST:-127.0.0.1} BESEDA_HTTP_PORT=$HTTP_PORT
export BESEDA_WEB_ROOT=$ROOT/build/web   # the built tree (make all; docs/WEB.md)
if [ ! -f "$VAR/secret" ]; then head -c 32 /dev/urandom | base64 > "$VAR/secret"; chmod 600 "$VAR/secret"; fi
BESEDA_SECRET=$(cat "$VAR/secret"); export BESEDA_SECRET

wait_ready 0 redis_ready

# The demo's mail goes to a local sink that writes each message to var/mail/
# (scripts/mail-sink.mjs), never out to the Internet.
MAIL_DIR=$VAR/mail
node "$ROOT/scripts/mail-sink.mjs" --port "$SMTP_PORT" --dir "$MAIL_DIR" >> "$VAR/log/mail-sink.log" 2>&1 &
pids+=($!)
pid_names+=(mail-sink)
smtp_ready() { (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && listening_ours "$SMTP_PORT" "${pids[1]}"; }
wait_ready 1 smtp_ready

B=$ROOT/build
admin_port=$ADMIN_BASE
admin_urls=()
# Starts process $1 (one of NAMES, in order) and waits for its /readyz.
start() {
    local name=$1; shift
    BESEDA_NAME=$name BESEDA_ADMIN_ADDR=127.0.0.1:$admin_port "$@" >> "$VAR/log/$name.log" 2>&1 &
    pids+=($!)
    pid_names+=("$name")
    admin_urls+=("$(printf '  %-10s http://127.0.0.1:%s/metrics' "$name" "$admin_port")")
    wait_ready $((${#pids[@]} - 1)) http_ready "$admin_port" /readyz "${pids[-1]}"
    admin_port=$((admin_port + 1))
}
start broker "$B/beseda-broker"
"$B/beseda-store" migrate >> "$VAR/log/store-1.log" 2>&1 || died "store-1" "(migrate failed)"
start store-1 "$B/beseda-store"
start router-1 "$B/beseda-router"
start router-2 "$B/beseda-router"
start gateway-1 "$B/beseda-gateway"
wait_ready $((${#pids[@]} - 1)) http_ready "$HTTP_PORT" /healthz "${pids[-1]}"
# Everything must still be running when the banner says so.
for i in "${!pids[@]}"; do
    kill -0 "${pids[i]}" 2>/dev/null || died "${pid_names[i]}" "during start"
done

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
# The demo site's mail (offline form, transcripts, missed chats) goes to the
# sink; set once, and again when the sink's port moved, never over a mail
# server an admin set (their "from" is not the demo's).
DEMO_FROM=demo-mail@beseda.local
offline_doc="{\"smtp_url\":\"smtp://127.0.0.1:$SMTP_PORT\",\"smtp_user\":\"\",\"smtp_password\":\"\",\"from\":\"$DEMO_FROM\",\"to\":[\"$EMAIL\"]}"
psql "host=127.0.0.1 port=$PG_PORT dbname=beseda user=beseda" -v ON_ERROR_STOP=1 -qAt -c "
    INSERT INTO site_settings (site_id, offline) VALUES ('$SITE', '$offline_doc'::jsonb)
    ON CONFLICT (site_id) DO UPDATE SET offline = EXCLUDED.offline, version = site_settings.version + 1
    WHERE coalesce(site_settings.offline->>'smtp_url', '') = ''
       OR (site_settings.offline->>'from' = '$DEMO_FROM' AND site_settings.offline <> EXCLUDED.offline)" \
    >> "$VAR/log/store-1.log" 2>&1 || echo "beseda: could not point the demo site's mail at the sink (see var/log/store-1.log)" >&2

cat <<EOT

beseda is running (logs in var/log/, database files in $PG_DATA).
  demo page with the chat widget:  http://127.0.0.1:$HTTP_PORT/demo.html?site=$SITE
  operator console:                http://127.0.0.1:$HTTP_PORT/console/
  operator login:                  $EMAIL / $PASSWORD
  embed snippet for this machine:  <script src="http://127.0.0.1:$HTTP_PORT/widget.js" data-site="$SITE" async></script>
                                   (a real site: https and your own host name, see README.md "The widget on a real site")

demo mail (offline form, transcripts, missed-chat notices) is not sent out:
  each message lands in $MAIL_DIR/ as an .eml file (a local SMTP sink on
  127.0.0.1:$SMTP_PORT; set a real server in the console: Settings, "Offline form
  and e-mail"). Mail that could not be delivered, and why: Settings, "Outgoing mail".

metrics (also /healthz and /readyz on each port):
$(printf '%s\n' "${admin_urls[@]}")

Press Ctrl-C to stop.
EOT
# Any process that exits from now on ends the demo with a non-zero status.
wait -n "${pids[@]}" || true
for i in "${!pids[@]}"; do
    kill -0 "${pids[i]}" 2>/dev/null || died "${pid_names[i]}"
done
died "a process"
