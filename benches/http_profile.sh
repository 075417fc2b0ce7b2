#!/usr/bin/env bash
# Where a request's instructions go over real HTTP: examples/bench_app (the example app's
# routes, bare and layered) under valgrind's callgrind, driven by wrk on 127.0.0.1, one
# profile per case. Instruction counts are deterministic, so this explains what
# benches/load.sh measures in time: the HTTP stack reading headers, the example's handlers,
# the runtime, and the layer's own work.
#
#   benches/http_profile.sh              # 3 s of wrk per case
#   DURATION=5 benches/http_profile.sh
#   KEEP=/tmp/profiles benches/http_profile.sh   # keeps each case's profile for callgrind_annotate
#
# Needs valgrind and wrk. Prints, per request: all instructions of the app process, then
# the inclusive share of the HTTP stack's request parsing, the layer (its service call, and
# the headers it adds to the answer) and the routed handler with its extractors.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-3}"
for tool in valgrind callgrind_control callgrind_annotate wrk; do
    command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
cargo build --quiet --release --example bench_app --features testing

work="$(mktemp -d)"
app=""
cleanup() {
    if [[ -n "$app" ]] && kill -0 "$app" 2>/dev/null; then
        kill "$app" 2>/dev/null || true
        wait "$app" 2>/dev/null || true
    fi
    if [[ -n "${KEEP:-}" ]]; then
        mkdir -p "$KEEP"
        cp "$work"/cg.out* "$KEEP"/ 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

target_dir="${CARGO_TARGET_DIR:-target}"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.out" \
    "$target_dir/release/examples/bench_app" >"$work/app.out" 2>"$work/app.err" &
app=$!
for _ in $(seq 1 600); do
    grep -q '^READY$' "$work/app.out" 2>/dev/null && break
    kill -0 "$app" 2>/dev/null || { cat "$work/app.err" >&2; exit 1; }
    sleep 0.2
done
grep -q '^READY$' "$work/app.out" || { echo "bench_app did not start" >&2; exit 1; }
value() { sed -n "s/^$1=//p" "$work/app.out"; }
LAYERED="$(value LAYERED)"
LAYERED_MEMORY="$(value LAYERED_MEMORY)"
BARE="$(value BARE)"
HTML="Accept: text/html"
JSON="Accept: application/json"

control() { callgrind_control "$@" "$app" >/dev/null 2>&1; }

# profile NAME URL [HEADER...]: counts only wrk's measured run, then dumps the profile.
profile() {
    local name="$1" url="$2"
    shift 2
    local args=()
    for header in "$@"; do args+=(-H "$header"); done
    wrk -t1 -c4 -d1s "${args[@]}" "$url" >/dev/null
    control -z
    control -i on
    wrk -t1 -c4 -d"${DURATION}s" "${args[@]}" "$url" >"$work/$name.wrk"
    control -i off
    control -d "$name"
    local requests dump
    requests="$(awk '/requests in/ { print $1 }' "$work/$name.wrk")"
    dump="$(grep -l "^desc: Trigger: dump $name\$" "$work"/cg.out* | head -1)"
    callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null | awk -v n="$requests" -v name="$name" '
        { gsub(",", "", $1) }
        /PROGRAM TOTALS/ { total = $1 }
        /hyper::proto::h1::io::Buffered<T,B>::parse / { parse = $1 }
        /OidcService<S> as tower_service::Service<http::request::Request<ReqBody>>>::call / { layer += $1 }
        /tower_oidc::middleware::future::with_cookies / { layer += $1 }
        /axum::handler::Handler<.*>>::call::\{\{closure\}\} / { if ($1 > handler) handler = $1 }
        END {
            printf "%-22s %9d %9d %9d %9d %9d\n", name, n, total / n, parse / n, layer / n, handler / n
        }'
}

printf '%-22s %9s %9s %9s %9s %9s\n' case requests "all/req" "parse/req" "layer/req" "handler"
profile health_bare "$BARE/health"
profile health_layered "$LAYERED/health"
profile cookie_bare "$BARE/" "$HTML" "Cookie: $(value COOKIE)"
profile cookie_layered "$LAYERED/" "$HTML" "Cookie: $(value COOKIE)"
profile memory_layered "$LAYERED_MEMORY/" "$HTML" "Cookie: $(value MEMORY_COOKIE)"
profile bearer_bare "$BARE/api/data" "$JSON" "Authorization: Bearer $(value BEARER)"
profile bearer_layered "$LAYERED/api/data" "$JSON" "Authorization: Bearer $(value BEARER)"
