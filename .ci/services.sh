#!/usr/bin/env bash
# Throwaway Redis and PostgreSQL servers for the session store tests, on 127.0.0.1 only:
# a Redis server, a 3-node Redis Cluster, a Redis master with a Sentinel watching it, a
# Redis server speaking TLS only (with a CA and certificate made here), a PostgreSQL, and a
# second PostgreSQL, stopped, that the outage test starts and stops.
#
# Sourced (by .ci/run):
#     source .ci/services.sh
#     tower_oidc_services_start            # installs when missing, starts, exports the URLs
#     trap tower_oidc_services_stop EXIT   # stops both and deletes their data
#
# Run directly, it wraps a command:
#     bash .ci/services.sh cargo test --all-features
#
# Exports:
#   TOWER_OIDC_TEST_REDIS_URL            redis://127.0.0.1:PORT/0
#   TOWER_OIDC_TEST_REDIS_CLUSTER_URL    redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
#   TOWER_OIDC_TEST_REDIS_SENTINEL_URL   redis+sentinel://127.0.0.1:PORT/tower_oidc
#   TOWER_OIDC_TEST_REDIS_TLS_URL        rediss://127.0.0.1:PORT/0
#   TOWER_OIDC_TEST_REDIS_TLS_CA         the PEM file of the CA that signed its certificate
#   TOWER_OIDC_TEST_POSTGRES_URL         postgres://postgres@127.0.0.1:PORT/tower_oidc_test
#   TOWER_OIDC_TEST_POSTGRES_OUTAGE_URL  postgres://postgres@127.0.0.1:PORT/postgres, down
#   TOWER_OIDC_TEST_POSTGRES_OUTAGE_CTL  a script: `start` or `stop` (a crash) that server
# Redis takes port 6379 and PostgreSQL 5432 when free, else a free port nearby; the others
# take free ports from 7000, 16379, 26379, 6390 and 5442 upwards. Debian/Ubuntu (apt-get);
# run as root, or as a user who already has redis-server, openssl and PostgreSQL installed.

tower_oidc_services_log() { printf '[services] %s\n' "$*" >&2; }

# Succeeds when something accepts connections on 127.0.0.1:$1.
tower_oidc_port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The first port from $1 upwards that nothing listens on.
tower_oidc_free_port() {
    local port=$1
    while tower_oidc_port_busy "$port"; do
        port=$((port + 1))
    done
    printf '%s\n' "$port"
}

tower_oidc_pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ] && command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir)
    fi
    printf '%s\n' "$dir"
}

tower_oidc_services_install() {
    local bindir
    bindir=$(tower_oidc_pg_bindir)
    if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 \
        && command -v openssl >/dev/null 2>&1 \
        && [ -n "$bindir" ] && [ -x "$bindir/initdb" ]; then
        return 0
    fi
    tower_oidc_services_log "installing redis-server, openssl and postgresql"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server openssl postgresql
}

# The first port from $1 upwards that is free, and whose cluster bus port (+10000) is too.
tower_oidc_free_cluster_port() {
    local port=$1
    while tower_oidc_port_busy "$port" || tower_oidc_port_busy $((port + 10000)); do
        port=$((port + 1))
    done
    printf '%s\n' "$port"
}

# Waits until `redis-cli "$@" ping` answers PONG; on failure prints the log $1.
tower_oidc_redis_wait() {
    local log=$1 i
    shift
    for i in $(seq 1 50); do
        [ "$(redis-cli "$@" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    tower_oidc_services_log "redis did not start:"
    cat "$log" >&2
    return 1
}

# Starts a daemonized redis-server in its own directory $1 (pid file and log there), in
# memory only, with the further options "${@:2}"; every redis-server started here is
# stopped by tower_oidc_services_stop through its pid file.
tower_oidc_redis_start() {
    local dir=$1
    shift
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --daemonize yes --dir "$dir" \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' --appendonly no "$@"
}

# A Redis Cluster of three masters (no replicas), each slot range on one node.
tower_oidc_redis_cluster_start() {
    local dir=$1 port=7000 ports=() nodes=() i ok
    for i in 1 2 3; do
        port=$(tower_oidc_free_cluster_port "$port")
        tower_oidc_redis_start "$dir/cluster-$i" --port "$port" --cluster-enabled yes \
            --cluster-config-file "$dir/cluster-$i/nodes.conf" --cluster-node-timeout 2000 \
            || return 1
        tower_oidc_redis_wait "$dir/cluster-$i/redis.log" -h 127.0.0.1 -p "$port" || return 1
        ports+=("$port")
        nodes+=("127.0.0.1:$port")
        port=$((port + 1))
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
        >"$dir/cluster-create.log" 2>&1 || {
        cat "$dir/cluster-create.log" >&2
        return 1
    }
    for i in $(seq 1 100); do
        ok=0
        for port in "${ports[@]}"; do
            redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null \
                | grep -q '^cluster_state:ok' && ok=$((ok + 1))
        done
        [ "$ok" = 3 ] && break
        sleep 0.1
    done
    if [ "$ok" != 3 ]; then
        tower_oidc_services_log "the redis cluster did not become ready"
        return 1
    fi
    export TOWER_OIDC_TEST_REDIS_CLUSTER_URL
    TOWER_OIDC_TEST_REDIS_CLUSTER_URL="redis+cluster://$(IFS=,; printf '%s' "${nodes[*]}")"
    tower_oidc_services_log "redis cluster on ${nodes[*]}"
}

# A Redis master of its own, and a Sentinel watching it under the name `tower_oidc`.
tower_oidc_redis_sentinel_start() {
    local dir=$1 master_port sentinel_port i
    master_port=$(tower_oidc_free_port 6390)
    tower_oidc_redis_start "$dir/sentinel-master" --port "$master_port" || return 1
    tower_oidc_redis_wait "$dir/sentinel-master/redis.log" -h 127.0.0.1 -p "$master_port" \
        || return 1
    sentinel_port=$(tower_oidc_free_port 26379)
    mkdir -p "$dir/sentinel"
    # Sentinel rewrites its configuration file: it must be a file of its own.
    cat >"$dir/sentinel/sentinel.conf" <<CONF
port $sentinel_port
bind 127.0.0.1
daemonize yes
dir $dir/sentinel
pidfile $dir/sentinel/redis.pid
logfile $dir/sentinel/redis.log
sentinel monitor tower_oidc 127.0.0.1 $master_port 1
sentinel down-after-milliseconds tower_oidc 2000
sentinel failover-timeout tower_oidc 5000
CONF
    redis-server "$dir/sentinel/sentinel.conf" --sentinel || return 1
    for i in $(seq 1 50); do
        redis-cli -h 127.0.0.1 -p "$sentinel_port" sentinel get-master-addr-by-name tower_oidc \
            2>/dev/null | grep -qx "$master_port" && break
        sleep 0.1
    done
    if ! redis-cli -h 127.0.0.1 -p "$sentinel_port" sentinel get-master-addr-by-name \
        tower_oidc 2>/dev/null | grep -qx "$master_port"; then
        tower_oidc_services_log "redis sentinel did not start:"
        cat "$dir/sentinel/redis.log" >&2
        return 1
    fi
    export TOWER_OIDC_TEST_REDIS_SENTINEL_URL="redis+sentinel://127.0.0.1:$sentinel_port/tower_oidc"
    tower_oidc_services_log "redis sentinel on 127.0.0.1:$sentinel_port (master 127.0.0.1:$master_port)"
}

# A CA, and a certificate it signs for 127.0.0.1 and localhost, valid for two days.
tower_oidc_tls_certificates() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=tower-oidc test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >"$dir/openssl.log" 2>&1 || {
        cat "$dir/openssl.log" >&2
        return 1
    }
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" \
        >>"$dir/openssl.log" 2>&1 || return 1
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" \
        >>"$dir/openssl.log" 2>&1 || {
        cat "$dir/openssl.log" >&2
        return 1
    }
    # redis-server may run as another user; the key is throwaway.
    chmod 644 "$dir/server.key"
}

# A Redis server that speaks TLS only, with a certificate from a CA of its own.
tower_oidc_redis_tls_start() {
    local dir=$1 port
    tower_oidc_tls_certificates "$dir/tls" || return 1
    port=$(tower_oidc_free_port 16379)
    tower_oidc_redis_start "$dir/redis-tls" --port 0 --tls-port "$port" \
        --tls-cert-file "$dir/tls/server.pem" --tls-key-file "$dir/tls/server.key" \
        --tls-ca-cert-file "$dir/tls/ca.pem" --tls-auth-clients no || return 1
    tower_oidc_redis_wait "$dir/redis-tls/redis.log" -h 127.0.0.1 -p "$port" \
        --tls --cacert "$dir/tls/ca.pem" || return 1
    export TOWER_OIDC_TEST_REDIS_TLS_URL="rediss://127.0.0.1:$port/0"
    export TOWER_OIDC_TEST_REDIS_TLS_CA="$dir/tls/ca.pem"
    tower_oidc_services_log "redis (TLS only) on 127.0.0.1:$port"
}

# A second PostgreSQL cluster, a copy of the first before it ever ran, left stopped, and
# a script that starts it (`start`) or kills it like a crash (`stop`).
tower_oidc_pg_outage_prepare() {
    local dir=$1 bindir=$2 port ctl
    port=$(tower_oidc_free_port 5442)
    mkdir -p "$dir/pg-outage"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/pg-outage"
    cp -a "$dir/pg/data" "$dir/pg-outage/data" || return 1
    ctl="$dir/pg-outage-ctl"
    cat >"$ctl" <<SCRIPT
#!/usr/bin/env bash
# start | stop: the PostgreSQL of the outage test, on 127.0.0.1:$port.
set -eu
as_pg() { if [ "\$(id -u)" = 0 ]; then runuser -u postgres -- "\$@"; else "\$@"; fi; }
case "\${1:-}" in
    start) as_pg "$bindir/pg_ctl" -D "$dir/pg-outage/data" -l "$dir/pg-outage/postgres.log" \\
        -w -t 60 -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/pg-outage -c fsync=off" \\
        start >/dev/null ;;
    stop) as_pg "$bindir/pg_ctl" -D "$dir/pg-outage/data" -m immediate -w stop >/dev/null ;;
    *) echo "usage: \$0 start|stop" >&2; exit 2 ;;
esac
SCRIPT
    chmod 755 "$ctl"
    export TOWER_OIDC_TEST_POSTGRES_OUTAGE_URL="postgres://postgres@127.0.0.1:$port/postgres"
    export TOWER_OIDC_TEST_POSTGRES_OUTAGE_CTL="$ctl"
    tower_oidc_services_log "postgresql for the outage test on 127.0.0.1:$port (stopped)"
}

# Runs a command as the `postgres` user when we are root (PostgreSQL refuses to run as
# root), else as ourselves.
tower_oidc_as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

tower_oidc_services_start() {
    tower_oidc_services_install || return 1
    local dir bindir redis_port pg_port i initdb
    dir=$(mktemp -d /tmp/tower-oidc-services.XXXXXX) || return 1
    export TOWER_OIDC_SERVICES_DIR=$dir

    # PostgreSQL: a new cluster in the temporary directory, trusting loopback connections.
    # initdb takes a while: it runs while the Redis servers start.
    bindir=$(tower_oidc_pg_bindir)
    mkdir -p "$dir/pg"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir/pg"
        chmod 755 "$dir"
    fi
    tower_oidc_as_pg "$bindir/initdb" -D "$dir/pg/data" --auth=trust --username=postgres \
        --encoding=UTF8 --no-sync >"$dir/pg-initdb.log" 2>&1 &
    initdb=$!

    # Redis: in memory only, nothing saved.
    redis_port=$(tower_oidc_free_port 6379)
    tower_oidc_redis_start "$dir/redis" --port "$redis_port" || return 1
    tower_oidc_redis_wait "$dir/redis/redis.log" -h 127.0.0.1 -p "$redis_port" || return 1
    export TOWER_OIDC_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
    tower_oidc_services_log "redis on 127.0.0.1:$redis_port"
    tower_oidc_redis_cluster_start "$dir" || return 1
    tower_oidc_redis_sentinel_start "$dir" || return 1
    tower_oidc_redis_tls_start "$dir" || return 1

    wait "$initdb" || {
        cat "$dir/pg-initdb.log" >&2
        return 1
    }
    pg_port=$(tower_oidc_free_port 5432)
    tower_oidc_pg_outage_prepare "$dir" "$bindir" || return 1
    tower_oidc_as_pg "$bindir/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/postgres.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg -c fsync=off" start \
        >/dev/null || {
        cat "$dir/pg/postgres.log" >&2
        return 1
    }
    tower_oidc_as_pg "$bindir/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres tower_oidc_test \
        || return 1
    export TOWER_OIDC_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/tower_oidc_test"
    tower_oidc_services_log "postgresql on 127.0.0.1:$pg_port"
}

tower_oidc_services_stop() {
    local dir=${TOWER_OIDC_SERVICES_DIR:-} bindir pid pidfile data pids running
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    # Every redis-server started here (server, cluster nodes, sentinel master, sentinel,
    # TLS) has its pid file in a directory of its own: all are asked to stop at once, and
    # killed if one still runs after five seconds.
    pids=()
    for pidfile in "$dir"/*/redis.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null && pids+=("$pid")
    done
    for _ in $(seq 1 50); do
        running=()
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && running+=("$pid")
        done
        [ "${#running[@]}" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    bindir=$(tower_oidc_pg_bindir)
    for data in "$dir/pg/data" "$dir/pg-outage/data"; do
        if [ -f "$data/postmaster.pid" ]; then
            tower_oidc_as_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 \
                || true
        fi
    done
    rm -rf "$dir"
    unset TOWER_OIDC_SERVICES_DIR TOWER_OIDC_TEST_REDIS_URL TOWER_OIDC_TEST_POSTGRES_URL \
        TOWER_OIDC_TEST_REDIS_CLUSTER_URL TOWER_OIDC_TEST_REDIS_SENTINEL_URL \
        TOWER_OIDC_TEST_REDIS_TLS_URL TOWER_OIDC_TEST_REDIS_TLS_CA \
        TOWER_OIDC_TEST_POSTGRES_OUTAGE_URL TOWER_OIDC_TEST_POSTGRES_OUTAGE_CTL
    tower_oidc_services_log "stopped"
}

# Run directly: start, run the command, stop.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    trap tower_oidc_services_stop EXIT
    tower_oidc_services_start
    if [ "$#" -gt 0 ]; then
        "$@"
    else
        env | grep '^TOWER_OIDC_TEST_' | sort
    fi
fi
