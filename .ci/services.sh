#!/usr/bin/env bash
# Throwaway Redis and PostgreSQL servers for the session store tests, on 127.0.0.1 only.
#
# Sourced (by .ci/run):
#     source .ci/services.sh
#     tower_oidc_services_start            # installs when missing, starts, exports the URLs
#     trap tower_oidc_services_stop EXIT   # stops both and deletes their data
#
# Run directly, it wraps a command:
#     bash .ci/services.sh cargo test --all-features
#
# Exports TOWER_OIDC_TEST_REDIS_URL and TOWER_OIDC_TEST_POSTGRES_URL. Redis takes port 6379
# and PostgreSQL 5432 when free, else a free port nearby. Debian/Ubuntu (apt-get); run as
# root, or as a user who already has redis-server and PostgreSQL installed.

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
        && [ -n "$bindir" ] && [ -x "$bindir/initdb" ]; then
        return 0
    fi
    tower_oidc_services_log "installing redis-server and postgresql"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server postgresql
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
    local dir bindir redis_port pg_port i
    dir=$(mktemp -d /tmp/tower-oidc-services.XXXXXX) || return 1
    export TOWER_OIDC_SERVICES_DIR=$dir

    # Redis: in memory only, nothing saved.
    redis_port=$(tower_oidc_free_port 6379)
    mkdir -p "$dir/redis"
    redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes \
        --dir "$dir/redis" --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" \
        --save '' --appendonly no || return 1
    for i in $(seq 1 50); do
        [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
        sleep 0.1
    done
    if [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" != PONG ]; then
        tower_oidc_services_log "redis did not start:"
        cat "$dir/redis/redis.log" >&2
        return 1
    fi
    export TOWER_OIDC_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
    tower_oidc_services_log "redis on 127.0.0.1:$redis_port"

    # PostgreSQL: a new cluster in the temporary directory, trusting loopback connections.
    bindir=$(tower_oidc_pg_bindir)
    pg_port=$(tower_oidc_free_port 5432)
    mkdir -p "$dir/pg"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir/pg"
        chmod 755 "$dir"
    fi
    tower_oidc_as_pg "$bindir/initdb" -D "$dir/pg/data" --auth=trust --username=postgres \
        --encoding=UTF8 --no-sync >"$dir/pg-initdb.log" 2>&1 || {
        cat "$dir/pg-initdb.log" >&2
        return 1
    }
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
    local dir=${TOWER_OIDC_SERVICES_DIR:-} bindir pid
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    if [ -f "$dir/redis/redis.pid" ]; then
        pid=$(cat "$dir/redis/redis.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    if [ -f "$dir/pg/data/postmaster.pid" ]; then
        bindir=$(tower_oidc_pg_bindir)
        tower_oidc_as_pg "$bindir/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 \
            || true
    fi
    rm -rf "$dir"
    unset TOWER_OIDC_SERVICES_DIR TOWER_OIDC_TEST_REDIS_URL TOWER_OIDC_TEST_POSTGRES_URL
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
        printf 'TOWER_OIDC_TEST_REDIS_URL=%s\nTOWER_OIDC_TEST_POSTGRES_URL=%s\n' \
            "$TOWER_OIDC_TEST_REDIS_URL" "$TOWER_OIDC_TEST_POSTGRES_URL"
    fi
fi
