#!/usr/bin/env bash
# Loopback load test of the layer: the routes of examples/axum_app, bare and wrapped in
# OidcLayer, served side by side by examples/bench_app (which starts the mock provider
# in-process and signs in once), driven with wrk on 127.0.0.1 only.
#
#   benches/load.sh                      # 9 rounds of 2 s per run, 64 connections
#   ROUNDS=7 DURATION=5 CONNECTIONS=128 benches/load.sh
#   PIN=0 benches/load.sh                # wrk and the app share every CPU
#   REDIS=0 benches/load.sh              # without the Redis-store case
#
# With two or more CPUs (and taskset), wrk runs on CPU 0 and the app on the others, so the
# load generator's own work (kilobytes of cookie sent per request, on loopback) does not
# come out of the app's CPU time; both variants of every case run the same way.
#
# Prints requests/s, p50/p99 latency and the app's CPU time per request for /health
# (whitelisted), / (cookie session), / (memory-store session: the cookie holds only a sealed
# id) and /api/data (bearer token, cached after its first use), bare vs layered, alternating
# within each round: medians over ROUNDS rounds, and ratios as the median of the ratios within
# each round. Every answer is checked (status 200 and the expected user id in the body; a wrk
# Lua script counts the others, and any makes the run fail). Then the same authenticated
# requests against the layered app's /health sent with no credentials at all, as a health
# checker sends it: throughput and CPU per request, session / health. Then floods the layered
# app with unauthenticated, invalid-cookie and invalid-token requests (after a 1 s warm-up of
# each) and reads its RSS from /proc before and after each flood. Everything it starts is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-2}"
ROUNDS="${ROUNDS:-9}"
PIN="${PIN:-1}"
cpus="$(nproc)"
if [[ "$PIN" == 1 && "$cpus" -ge 2 ]] && command -v taskset >/dev/null; then
    on_load_cpu=(taskset -c 0)
    on_app_cpus=(taskset -c "1-$((cpus - 1))")
    THREADS="${THREADS:-1}"
else
    on_load_cpu=()
    on_app_cpus=()
    THREADS="${THREADS:-2}"
fi
CONNECTIONS="${CONNECTIONS:-32}"
FLOOD_DURATION="${FLOOD_DURATION:-5}"
HTML="Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
JSON="Accept: application/json"

if ! command -v wrk >/dev/null; then
    echo "wrk is missing (Debian/Ubuntu: apt-get install -y wrk)" >&2
    exit 1
fi

REDIS="${REDIS:-1}"
if [[ "$REDIS" == 1 ]] && ! command -v redis-server >/dev/null; then
    echo "redis-server is missing (Debian/Ubuntu: apt-get install -y redis-server), or REDIS=0" >&2
    exit 1
fi
features=testing
[[ "$REDIS" == 1 ]] && features=testing,redis
cargo build --quiet --release --example bench_app --features "$features"

work="$(mktemp -d)"
app=""
redis=""
cleanup() {
    for pid in "$app" "$redis"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A throwaway Redis on a free loopback port, on the app's CPUs, without persistence.
if [[ "$REDIS" == 1 ]]; then
    redis_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "${on_app_cpus[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save "" \
        --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
    redis=$!
    for _ in $(seq 1 100); do
        redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break
        sleep 0.1
    done
    redis-cli -p "$redis_port" ping | grep -q PONG || { cat "$work/redis.log" >&2; exit 1; }
    export BENCH_REDIS_URL="redis://127.0.0.1:$redis_port"
fi
# Commands Redis has answered so far, all kinds together.
redis_calls() {
    redis-cli -p "$redis_port" info commandstats |
        awk -F'[=,]' '/^cmdstat_/ { s += $2 } END { print s + 0 }'
}

target_dir="${CARGO_TARGET_DIR:-target}"
"${on_app_cpus[@]}" "$target_dir/release/examples/bench_app" >"$work/app.out" 2>"$work/app.err" &
app=$!
for _ in $(seq 1 300); do
    grep -q '^READY$' "$work/app.out" 2>/dev/null && break
    if ! kill -0 "$app" 2>/dev/null; then
        echo "bench_app stopped:" >&2
        cat "$work/app.err" >&2
        exit 1
    fi
    sleep 0.1
done
grep -q '^READY$' "$work/app.out" || { echo "bench_app did not start in 30 s" >&2; exit 1; }
value() { sed -n "s/^$1=//p" "$work/app.out"; }
LAYERED="$(value LAYERED)"
LAYERED_MEMORY="$(value LAYERED_MEMORY)"
BARE="$(value BARE)"
COOKIE="$(value COOKIE)"
MEMORY_COOKIE="$(value MEMORY_COOKIE)"
BEARER="$(value BEARER)"
USER_ID="$(value USER_ID)"
LAYERED_REDIS="$(value LAYERED_REDIS)"
REDIS_COOKIE="$(value REDIS_COOKIE)"
case "$LAYERED $LAYERED_MEMORY $BARE" in
    http://127.0.0.1:*" "http://127.0.0.1:*" "http://127.0.0.1:*) ;;
    *) echo "unexpected addresses: $LAYERED $LAYERED_MEMORY $BARE" >&2; exit 1 ;;
esac

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$app/status"; }
# The app's CPU time so far, in ns, over all its threads (the runtime's workers live as long
# as the app).
cpu_ns() { cat /proc/"$app"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }

# Counts the answers that are not 200 or lack EXPECT in their body.
cat >"$work/check.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; expect = os.getenv("EXPECT") or "" end
function response(status, headers, body)
    if status ~= 200 or not string.find(body, expect, 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do total = total + thread:get("bad") end
    io.write(string.format("unexpected answers: %d\n", total))
end
LUA

# Converts wrk's latency ("635.21us", "2.15ms", "1.02s") to microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000;
        else if (v ~ /s$/) print n * 1000000; else print n
    }'
}

# run NAME EXPECT URL [HEADER...]: one wrk run, each answer checked for 200 and EXPECT;
# writes NAME.rps, NAME.p50, NAME.p99 and NAME.cpu (the app's CPU ns per request).
run() {
    local name="$1" expect="$2" url="$3"
    shift 3
    local args=()
    for header in "$@"; do args+=(-H "$header"); done
    local before after
    before="$(cpu_ns)"
    EXPECT="$expect" "${on_load_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
        --latency -s "$work/check.lua" "${args[@]}" "$url" >"$work/$name.wrk"
    after="$(cpu_ns)"
    awk '/^Requests\/sec:/ { print $2 }' "$work/$name.wrk" >"$work/$name.rps"
    to_us "$(awk '$1 == "50%" { print $2 }' "$work/$name.wrk")" >"$work/$name.p50"
    to_us "$(awk '$1 == "99%" { print $2 }' "$work/$name.wrk")" >"$work/$name.p99"
    awk -v b="$before" -v a="$after" '/requests in/ { printf "%.0f\n", (a - b) / $1 }' \
        "$work/$name.wrk" >"$work/$name.cpu"
    local bad
    bad="$(awk '/^unexpected answers:/ { print $3 }' "$work/$name.wrk")"
    if [[ "$bad" != 0 ]]; then
        echo "$name: ${bad:-?} answers were not 200 with '$expect' in the body" >&2
        exit 1
    fi
}
# get NAME FIELD: the median over the rounds.
get() {
    cat "$work/$1".r*."$2" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "tower-oidc load test: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency, loopback, median of $ROUNDS rounds"
if [[ ${#on_load_cpu[@]} -gt 0 ]]; then
    echo "wrk on CPU 0, the app on CPUs 1-$((cpus - 1)) (PIN=0 to share them)"
else
    echo "wrk and the app share $cpus CPUs"
fi
echo "layered $LAYERED, memory store $LAYERED_MEMORY, bare $BARE (pid $app); RSS at start $(rss_kib) KiB"

# Bare and layered alternate, so drift in the machine's load hits both alike.
for round in $(seq 1 "$ROUNDS"); do
    run "health_bare.r$round" ok "$BARE/health" "$HTML"
    run "health_layered.r$round" ok "$LAYERED/health" "$HTML"
    run "plain_health.r$round" ok "$LAYERED/health"
    run "plain_health_bare.r$round" ok "$BARE/health"
    run "session_bare.r$round" "alice" "$BARE/" "$HTML" "Cookie: $COOKIE"
    run "session_layered.r$round" "$USER_ID" "$LAYERED/" "$HTML" "Cookie: $COOKIE"
    run "memory_bare.r$round" "alice" "$BARE/" "$HTML" "Cookie: $MEMORY_COOKIE"
    run "memory_layered.r$round" "$USER_ID" "$LAYERED_MEMORY/" "$HTML" "Cookie: $MEMORY_COOKIE"
    if [[ "$REDIS" == 1 ]]; then
        before_calls="$(redis_calls)"
        run "redis_layered.r$round" "$USER_ID" "$LAYERED_REDIS/" "$HTML" "Cookie: $REDIS_COOKIE"
        # The info call itself is one command.
        awk -v b="$before_calls" -v a="$(redis_calls)" '/requests in/ { printf "%.4f\n", (a - b - 1) / $1 }' \
            "$work/redis_layered.r$round.wrk" >"$work/redis_layered.r$round.calls"
    fi
    run "bearer_bare.r$round" svc-user "$BARE/api/data" "$JSON" "Authorization: Bearer $BEARER"
    run "bearer_layered.r$round" svc-user "$LAYERED/api/data" "$JSON" "Authorization: Bearer $BEARER"
done
names="health_bare health_layered session_bare session_layered memory_bare memory_layered"
extra=""
[[ "$REDIS" == 1 ]] && extra=redis_layered
for name in $names bearer_bare bearer_layered plain_health plain_health_bare $extra; do
    printf '%-16s req/s by round:' "$name"
    for round in $(seq 1 "$ROUNDS"); do printf ' %8.0f' "$(cat "$work/$name.r$round.rps")"; done
    echo
done

# paired A B [FIELD]: the median over the rounds of A's FIELD (req/s unless given) divided
# by B's in the same round.
paired() {
    local field="${3:-rps}"
    for round in $(seq 1 "$ROUNDS"); do
        awk -v a="$(cat "$work/$1.r$round.$field")" -v b="$(cat "$work/$2.r$round.$field")" \
            'BEGIN { print a / b }'
    done | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo
printf '%-28s %12s %12s %7s %10s %10s %10s %10s\n' \
    case "bare req/s" "layered" ratio "bare p50" "layr p50" "bare p99" "layr p99"
for row in "health:/health (whitelisted)" "session:/ (cookie session)" \
    "memory:/ (memory-store session)" "bearer:/api/data (bearer)"; do
    key="${row%%:*}"
    label="${row#*:}"
    awk -v label="$label" \
        -v br="$(get "${key}_bare" rps)" -v lr="$(get "${key}_layered" rps)" \
        -v b50="$(get "${key}_bare" p50)" -v l50="$(get "${key}_layered" p50)" \
        -v b99="$(get "${key}_bare" p99)" -v l99="$(get "${key}_layered" p99)" \
        -v ratio="$(paired "${key}_layered" "${key}_bare")" \
        'BEGIN { printf "%-28s %12.0f %12.0f %6.1f%% %8.0fus %8.0fus %8.0fus %8.0fus\n",
                 label, br, lr, 100 * ratio, b50, l50, b99, l99 }'
done
# The session paths against the whitelisted one: machine noise on a shared VM moves whole
# runs by 10 % or more, so the ratio is taken within each round (runs seconds apart) and
# the median of those is reported. Cookie sessions carry a cookie of about 2.1 KB, which
# costs the HTTP stack something with or without the layer: the bare app's ratio for the
# same requests shows how much.
echo
echo "session / whitelisted throughput, median of the per-round ratios:"
for kind in session memory; do
    if [[ $kind == session ]]; then cookie="$COOKIE"; else cookie="$MEMORY_COOKIE"; fi
    awk -v kind="$kind" -v bytes="${#cookie}" \
        -v layered="$(paired "${kind}_layered" health_layered)" \
        -v bare="$(paired "${kind}_bare" health_bare)" \
        'BEGIN { printf "  %-6s layered %5.1f%%   bare app, same requests %5.1f%%   (Cookie header: %d bytes)\n",
                 kind == "session" ? "cookie" : "memory", 100 * layered, 100 * bare, bytes }'
done
echo
echo "against /health with no credentials on the layered app (its CPU: $(get plain_health cpu) ns per request),"
echo "median of the per-round ratios (CPU: health's CPU per request / the session's); the bare"
echo "app's same requests against its own credential-less /health ($(get plain_health_bare cpu) ns) are"
echo "what a layer costing nothing would reach (the Redis store's: the memory store's, same cookie):"
printf '  %-22s %10s %12s %10s %12s %12s\n' session throughput "CPU/request" "ns/request" \
    "bare: thrpt" "bare: CPU"
rows=("session:cookie:session" "memory:memory store:memory")
[[ "$REDIS" == 1 ]] && rows+=("redis:Redis store:memory")
rows+=("bearer:bearer (cached):bearer")
for row in "${rows[@]}"; do
    key="${row%%:*}"
    rest="${row#*:}"
    bare="${rest#*:}_bare"
    awk -v label="${rest%%:*}" -v rps="$(paired "${key}_layered" plain_health)" \
        -v cpu="$(paired plain_health "${key}_layered" cpu)" -v ns="$(get "${key}_layered" cpu)" \
        -v bare_rps="$(paired "$bare" plain_health_bare)" \
        -v bare_cpu="$(paired plain_health_bare "$bare" cpu)" \
        'BEGIN { printf "  %-22s %10.3f %12.3f %10.0f %12.3f %12.3f\n", label, rps, cpu, ns,
                 bare_rps, bare_cpu }'
done
if [[ "$REDIS" == 1 ]]; then
    echo "Redis commands per Redis-session request (median over the rounds): $(get redis_layered calls)"
fi
echo
echo "floods of the layered app (${FLOOD_DURATION}s each after 1 s of warm-up), RSS of the app process:"
flood() {
    local label="$1" url="$2"
    shift 2
    local args=()
    for header in "$@"; do args+=(-H "$header"); done
    local before after
    "${on_load_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d1s "${args[@]}" "$url" >/dev/null
    before="$(rss_kib)"
    "${on_load_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${FLOOD_DURATION}s" "${args[@]}" "$url" >"$work/flood.wrk"
    after="$(rss_kib)"
    awk -v label="$label" -v before="$before" -v after="$after" \
        -v n="$(awk '/requests in/ { print $1 }' "$work/flood.wrk")" \
        -v rps="$(awk '/^Requests\/sec:/ { print $2 }' "$work/flood.wrk")" \
        'BEGIN { printf "  %-40s %9d requests (%6.0f/s)  RSS %7d -> %7d KiB (%+d)\n",
                 label, n, rps, before, after, after - before }'
}
flood "no session, API client (401)" "$LAYERED/api/data" "$JSON"
flood "no session, browser (302 to /login)" "$LAYERED/" "$HTML"
flood "invalid session cookie (401)" "$LAYERED/api/data" "$JSON" \
    "Cookie: tower_oidc.0=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
flood "invalid bearer token (401)" "$LAYERED/api/data" "$JSON" \
    "Authorization: Bearer ${BEARER%?????}AAAAA"
echo "RSS at the end: $(rss_kib) KiB"
