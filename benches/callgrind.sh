#!/usr/bin/env bash
# Instructions per request, bare vs layered, counted by valgrind's callgrind: deterministic,
# so small changes to the hot path show even on a busy machine. Needs valgrind.
#
#   benches/callgrind.sh            # N=2000 requests per case (500 first-seen tokens)
#   N=500 benches/callgrind.sh
#
# Each case runs benches/callgrind.rs under callgrind, counting only its measured loop:
# the request's building and the whole answer, in-process through the axum Router.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-2000}"
FIRST_SEEN="${FIRST_SEEN:-500}"
command -v valgrind >/dev/null || { echo "valgrind is missing" >&2; exit 1; }

binary="$(cargo bench --bench callgrind --features testing,axum,api-keys --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)"
[[ -x "$binary" ]] || { echo "could not build the callgrind bench" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# count CASE VARIANT N: instructions per iteration of the measured loop.
count() {
    CALLGRIND_CASE="$1" CALLGRIND_VARIANT="$2" CALLGRIND_N="$3" \
        valgrind --tool=callgrind --toggle-collect='*measured_loop*' \
        --callgrind-out-file="$work/out" "$binary" >/dev/null 2>"$work/log"
    awk -v n="$3" '/Collected :/ { printf "%.0f\n", $NF / n }' "$work/log"
}

printf '%-24s %14s %14s %14s %8s\n' case "bare instr" "layered instr" overhead ratio
row() {
    local case="$1" n="$2" bare layered
    bare="$(count "$case" bare "$n")"
    layered="$(count "$case" layered "$n")"
    printf '%-24s %14d %14d %14d %7.2fx\n' "$case" "$bare" "$layered" \
        "$((layered - bare))" "$(awk -v l="$layered" -v b="$bare" 'BEGIN { print l / b }')"
    echo "$((layered - bare))" >"$work/$case.overhead"
}
row whitelisted "$N"
row cookie "$N"
row memory "$N"
row cookie_idle "$N"
row memory_idle "$N"
row bearer_cached "$N"
row api_key "$N"
row bearer_first_rs256 "$FIRST_SEEN"
raw="$(count raw_rs256 raw "$FIRST_SEEN")"
awk -v o="$(cat "$work/bearer_first_rs256.overhead")" -v r="$raw" 'BEGIN {
    printf "first-seen RS256 bearer: overhead %d instructions = %.2fx one raw jsonwebtoken::decode (%d)\n", o, o / r, r }'
# The callback: only the layer's own work (the service call and its deferred future), read
# from the profile, since the mock provider runs in the same thread.
CALLBACKS="${CALLBACKS:-200}"
count callback layered "$CALLBACKS" >/dev/null
callgrind_annotate --inclusive=yes --threshold=100 "$work/out" 2>/dev/null | awk -v n="$CALLBACKS" '
    { gsub(",", "", $1) }
    /OidcService<S> as tower_service::Service<http::request::Request<ReqBody>>>::call( |::\{\{closure\}\} )/ { layer += $1 }
    /tower_oidc::token::id_token::verify::\{\{closure\}\} / { id_token += $1 }
    /tower_oidc::testing::/ { cost = $1 + 0; if (cost > mock) mock = cost }
    END { printf "callback (ES256 ID token): the layer'"'"'s own work %d instructions, %.0f%% of it the ID token'"'"'s signature check; the mock provider (outermost mock function, inclusive): %d\n",
          layer / n, 100 * id_token / layer, mock / n }'

