#!/usr/bin/env bash
# How long a logout on one instance takes to be refused on another that keeps sessions in
# its near cache: benches/propagation.rs, two layered apps on 127.0.0.1 sharing a
# throwaway redis-server started here on a free port (no persistence) and stopped on exit;
# with STORE=postgres, the throwaway PostgreSQL of .ci/services.sh instead.
#
#   benches/propagation.sh               # 200 rounds, near cache on, then off to compare
#   ROUNDS=500 benches/propagation.sh
#   STORE=postgres benches/propagation.sh
#
# Needs redis-server and redis-cli (apt-get install -y redis-server); PostgreSQL for
# STORE=postgres (.ci/services.sh installs it when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-200}"
export ROUNDS
features=testing,redis,sql

if [[ "${STORE:-redis}" == postgres ]]; then
    cargo bench --bench propagation --features "$features" --no-run >&2
    # shellcheck disable=SC2016
    exec bash .ci/services.sh bash -c '
        export TOWER_OIDC_BENCH_POSTGRES_URL="$TOWER_OIDC_TEST_POSTGRES_URL"
        for near_cache in true false; do
            NEAR_CACHE="$near_cache" cargo bench --bench propagation --features '"$features"' \
                2>/dev/null | grep -v "^$"
        done'
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=6400
while port_busy "$port"; do
    port=$((port + 1))
done

cargo bench --bench propagation --features "$features" --no-run >&2
dir="$(mktemp -d)"
redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
    >"$dir/redis.log" 2>&1 &
redis_pid=$!
cleanup() {
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
done

export TOWER_OIDC_BENCH_REDIS_URL="redis://127.0.0.1:$port/0"
for near_cache in true false; do
    NEAR_CACHE="$near_cache" cargo bench --bench propagation --features "$features" 2>/dev/null | grep -v "^$"
done
