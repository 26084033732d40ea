#!/usr/bin/env bash
# Performance benchmark of dsview-launch against its bundled appliance simulator (dsview-sim).
#
# Usage: scripts/bench.sh [--quick] [--sizes LIST] [--help]
#   (default)      inventories: demo (16 devices), 2,000, 20,000 and 200,000 generated devices
#   --quick        demo and 2,000 only, fewer runs (a smoke run of the whole pipeline)
#   --sizes LIST   comma-separated generated-device counts; 0 is the demo inventory alone
#                  (e.g. --sizes 0,20000). Generated inventories keep the 16 demo devices.
#
# What it does:
#   1. installs what is missing: hyperfine, curl and time (/usr/bin/time) with apt-get (as root
#      or through sudo), and Python `requests` in a venv under target/bench-venv;
#   2. cargo build --release --locked, and reports the size of target/release/dsview-launch and
#      the shared libraries it loads (the simulator is built apart, at opt-level 3, so that it
#      does not slow the baselines); times the device-list decoder alone (benches/decode.rs);
#   3. for each inventory, against a fresh `dsview-sim --port 0 --quiet` per timed command
#      (127.0.0.1 only), times with hyperfine (-N, 3 warm-up runs):
#        - the cold launch: dsview-launch --host 127.0.0.1:PORT -u admin --ca-cert CERT
#          kvm rack-a-01 -n  (password in DSVIEW_PASSWORD; HOME and XDG dirs in an empty temp
#          dir; --no-session-cache when the launcher has it);
#        - the curl lower bound, 3 and 4 requests over one TLS connection in one curl process
#          (bench/curl_lower_bound.sh documents exactly what it sends);
#        - the vendor-style Python example (bench/vendor_example.py), demo inventory only;
#        - the warm launch (cached session), when the launcher has a `login` subcommand;
#      and the peak RSS of a cold launch with /usr/bin/time -v;
#      the cold and the warm launch again with 10 ms added to every API request (demo
#      inventory), with the number of API requests each makes; and (not with --quick) the
#      cold launch and curl against a simulator offering HTTP/2, at 20,000 devices and more;
#      plus `dsview-launch --version` and a bare process spawn for scale, and (not with --quick)
#      a fleet lookup across 50 simulated appliances with 200 ms latency each (bench/fleet.sh);
#   4. prints the summary and writes it to target/bench/summary.md (raw hyperfine exports in
#      target/bench/hyperfine/);
#   5. stops every simulator it started and removes its temp dir, however it exits.
# Target marks (PASS/FAIL) are informational: the exit status is 0 whenever the benchmark ran.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$ROOT/scripts/bench.sh"; }
say() { printf '\n== %s\n' "$*"; }
die() { printf 'bench.sh: %s\n' "$*" >&2; exit 1; }

SIZES=(0 2000 20000 200000)
MODE=full
while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) MODE=quick; SIZES=(0 2000) ;;
    --sizes)
        [[ $# -ge 2 ]] || die "--sizes needs a list, e.g. --sizes 0,20000"
        IFS=, read -r -a SIZES <<<"$2"
        shift
        ;;
    --sizes=*) IFS=, read -r -a SIZES <<<"${1#--sizes=}" ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done
[[ ${#SIZES[@]} -gt 0 ]] || die "no inventory size selected"
for i in "${!SIZES[@]}"; do
    n=${SIZES[i]}
    if ! [[ $n =~ ^[0-9]{1,10}$ ]] || ((10#$n > 4294967295)); then die "not a device count: $n"; fi
    SIZES[i]=$((10#$n))
done

# Runs per timed command: in a full run at least this many (hyperfine also keeps going for at
# least 3 s); in a quick run exactly this many.
min_runs() {
    if [[ $MODE == quick ]]; then echo 20; return; fi
    if (($1 <= 2000)); then echo 200; elif (($1 <= 20000)); then echo 100; else echo 30; fi
}
WARMUP=3
RSS_RUNS=5
PASSWORD=admin-pass
USER_NAME="admin"
DEVICE=rack-a-01
# Added to every API request in the cold-versus-warm comparison.
LATENCY_MS=10
# The demo device rack-a-01 has id ...8000-000000000001 (see src/bin/dsview-sim/inventory.rs).
DEVICE_ID=00000000-0000-4000-8000-000000000001

TARGET="${CARGO_TARGET_DIR:-target}"
[[ $TARGET == /* ]] || TARGET="$ROOT/$TARGET"
OUT="$TARGET/bench"
VENV="$TARGET/bench-venv"
LAUNCH="$TARGET/release/dsview-launch"
# The simulator is built at opt-level 3 in its own target dir: the release profile optimises
# the launcher for size, and a slower simulator would slow the curl baseline too.
SIM="$TARGET/bench-sim/release/dsview-sim"
CURL_HELPER="$ROOT/bench/curl_lower_bound.sh"

TMP=""
SIM_PID=""
cleanup() {
    local status=$?
    if [[ -n $SIM_PID ]]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    if [[ -n $TMP && -d $TMP ]]; then rm -rf -- "$TMP"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dsview-bench.XXXXXX")

# --- 1. tools -----------------------------------------------------------------------------
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo "$@"
    else
        return 1
    fi
}

hyperfine_ok() { # hyperfine present and new enough for -N (--shell=none, 1.13+)
    local help
    command -v "$1" >/dev/null || return 1
    help=$("$1" --help 2>/dev/null) || return 1
    grep -q -- '--shell=none' <<<"$help"
}
curl_version() { curl --version | awk 'NR == 1 { print $1, $2 }'; }

say "tools"
apt_missing=()
command -v curl >/dev/null || apt_missing+=(curl)
[[ -x /usr/bin/time ]] || apt_missing+=(time)
command -v python3 >/dev/null || apt_missing+=(python3)
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt_missing+=(python3-venv)
fi
HYPERFINE=hyperfine
if ! hyperfine_ok hyperfine; then
    if hyperfine_ok "$TARGET/bench-tools/bin/hyperfine"; then
        HYPERFINE="$TARGET/bench-tools/bin/hyperfine"
    else
        apt_missing+=(hyperfine)
    fi
fi
if [[ ${#apt_missing[@]} -gt 0 ]]; then
    echo "installing with apt-get: ${apt_missing[*]}"
    if ! as_root true; then
        die "missing: ${apt_missing[*]}; install them as root (apt-get install ${apt_missing[*]}) or run this script as root or with passwordless sudo"
    fi
    as_root apt-get update -qq
    # hyperfine separately: an older release lacks it, and cargo can build it instead.
    others=()
    for p in "${apt_missing[@]}"; do [[ $p == hyperfine ]] || others+=("$p"); done
    if [[ ${#others[@]} -gt 0 ]]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${others[@]}"
    fi
    if [[ " ${apt_missing[*]} " == *" hyperfine "* ]]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hyperfine ||
            echo "apt-get could not install hyperfine; building it with cargo instead"
    fi
fi
if [[ $HYPERFINE == hyperfine ]] && ! hyperfine_ok hyperfine; then
    echo "hyperfine is missing or older than 1.13 (no --shell=none): cargo install hyperfine"
    cargo install --locked --quiet --root "$TARGET/bench-tools" hyperfine
    HYPERFINE="$TARGET/bench-tools/bin/hyperfine"
    hyperfine_ok "$HYPERFINE" || die "could not get a hyperfine with --shell=none"
fi
command -v curl >/dev/null || die "curl is still missing"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is still missing (Debian package: time)"
if ! "$VENV/bin/python" -c 'import requests' 2>/dev/null; then
    echo "creating $VENV with requests"
    rm -rf -- "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check requests
fi
echo "$("$HYPERFINE" --version); $(curl_version); $("$VENV/bin/python" --version); requests $("$VENV/bin/python" -c 'import requests; print(requests.__version__)')"

# --- 2. build -----------------------------------------------------------------------------
say "cargo build --release --locked"
cargo build --release --locked
cargo build --release --locked --bin dsview-sim --config 'profile.release.opt-level=3' \
    --target-dir "$TARGET/bench-sim"
BINARY_BYTES=$(stat -c %s "$LAUNCH")
if command -v readelf >/dev/null; then
    LIBS=$(readelf -d "$LAUNCH" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd, -)
    echo "shared libraries the launcher loads: $LIBS"
fi
printf 'target/release/dsview-launch: %s bytes (%s)\n' "$BINARY_BYTES" \
    "$(awk -v b="$BINARY_BYTES" 'BEGIN { printf "%.2f MiB", b / 1048576 }')"

LAUNCH_HELP=$("$LAUNCH" --help; "$LAUNCH" kvm --help)
NO_CACHE_FLAG=()
if grep -q -- '--no-session-cache' <<<"$LAUNCH_HELP"; then NO_CACHE_FLAG=(--no-session-cache); fi
HAS_LOGIN=0
commands=$("$LAUNCH" --help | awk '/^Commands:/ { inside = 1; next } /^[^ ]/ { inside = 0 } inside')
if grep -qE '^[[:space:]]+login([[:space:]]|$)' <<<"$commands"; then HAS_LOGIN=1; fi
echo "cold runs pass --no-session-cache: $([[ ${#NO_CACHE_FLAG[@]} -gt 0 ]] && echo yes || echo "no (the flag does not exist)")"
echo "warm path: $([[ $HAS_LOGIN == 1 ]] && echo "available (dsview-launch login)" || echo "not available")"

rm -rf -- "$OUT"
mkdir -p "$OUT/hyperfine"
META="$OUT/meta.tsv"
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }

# --- helpers ------------------------------------------------------------------------------
# Single-quote each word and join them: a command line for hyperfine -N (shell-words split).
words() {
    local line="" w
    for w in "$@"; do line+="${line:+ }'${w//\'/\'\\\'\'}'"; done
    printf '%s' "$line"
}

# The real interpreter behind python3 (a version-manager shim may need variables that the
# clean environment below drops).
PYTHON=$(python3 -c 'import sys; print(sys.executable)')

# Runs a command in a clean environment: HOME and XDG dirs under $1, the password, no proxies,
# no inherited DSVIEW_* or BROWSER.
hermetic() {
    local home=$1
    shift
    env -i PATH="$PATH" TERM="${TERM:-dumb}" LANG=C.UTF-8 NO_COLOR=1 \
        HOME="$home" XDG_CONFIG_HOME="$home/config" XDG_STATE_HOME="$home/state" \
        XDG_CACHE_HOME="$home/cache" DSVIEW_PASSWORD="$PASSWORD" PYTHON="$PYTHON" "$@"
}

# start_sim N [SIMULATOR OPTIONS...]: a fresh simulator with the demo devices plus N generated
# ones; sets SIM_PORT, SIM_CERT, SIM_HOST.
start_sim() {
    local n=$1 dir
    shift
    stop_sim
    dir=$(mktemp -d "$TMP/sim.XXXXXX")
    local args=(--bind 127.0.0.1 --port 0 --quiet --max-sessions 1000000 --cert-out "$dir/cert.pem")
    ((n > 0)) && args+=(--devices "$n")
    args+=("$@")
    env -i PATH="$PATH" "$SIM" "${args[@]}" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
    SIM_PID=$!
    local waited=0
    until grep -q '^fingerprint: ' "$dir/stdout" 2>/dev/null; do
        if ! kill -0 "$SIM_PID" 2>/dev/null; then
            cat "$dir/stderr" >&2
            SIM_PID=""
            die "dsview-sim exited during start-up"
        fi
        ((waited++ < 300)) || die "dsview-sim printed no start-up lines within 30 s"
        sleep 0.1
    done
    SIM_PORT=$(sed -n 's|^dsview-sim listening on https://127\.0\.0\.1:\([0-9][0-9]*\)/\{0,1\}$|\1|p' "$dir/stdout")
    SIM_CERT=$(sed -n 's/^certificate: //p' "$dir/stdout")
    [[ -n $SIM_PORT && -f $SIM_CERT ]] || die "cannot read the simulator's start-up lines: $(cat "$dir/stdout")"
    SIM_HOST="127.0.0.1:$SIM_PORT"
}

stop_sim() {
    if [[ -n $SIM_PID ]]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
        SIM_PID=""
    fi
}

sim_stats() { curl -q -sS --fail --noproxy '*' --cacert "$SIM_CERT" "https://$SIM_HOST/_sim/stats"; }
sim_stat() { # the simulator's counter $1
    sim_stats | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
sim_api_requests() { # API requests so far (login, device list, ticket, logout)
    sim_stats | "$PYTHON" -c 'import json, sys
s = json.load(sys.stdin)
print(sum(s[k] for k in ("login_requests", "device_list_requests", "ticket_requests", "logout_requests")))'
}

# bench NAME LABEL MINRUNS HOME COMMAND_LINE [extra hyperfine options...]
bench() {
    local name=$1 label=$2 runs=$3 home=$4 cmd=$5
    shift 5
    local count=(--min-runs "$runs")
    [[ $MODE == quick ]] && count=(--runs "$runs")
    hermetic "$home" "$HYPERFINE" -N --warmup "$WARMUP" "${count[@]}" \
        --export-json "$OUT/hyperfine/$name.json" --export-markdown "$OUT/hyperfine/$name.md" \
        "$@" -n "$label" "$cmd"
}

# A fresh, empty home for one measurement.
new_home() { mktemp -d "$TMP/home.XXXXXX"; }

launch_args() { # the cold (or, with "warm", the warm) launch's argv
    local args=("$LAUNCH" --host "$SIM_HOST" -u "$USER_NAME" --ca-cert "$SIM_CERT" kvm "$DEVICE" -n)
    [[ ${1:-cold} == cold ]] && args+=("${NO_CACHE_FLAG[@]}")
    printf '%s\n' "${args[@]}"
}

check_url() {
    local url=$1
    local want="https://$SIM_HOST/api/v1/launchUI/?launchType=viewer&viewerType=KVM&deviceId=$DEVICE_ID&ticket="
    [[ $url == "$want"* && ${#url} -gt ${#want} ]] || die "unexpected launcher output: $url"
}

max_rss_kb() { # max_rss_kb HOME COMMAND...: largest "Maximum resident set size" of RSS_RUNS runs
    local home=$1 i kb best=0
    shift
    for ((i = 0; i < RSS_RUNS; i++)); do
        find "$home" -mindepth 1 -delete
        hermetic "$home" /usr/bin/time -v -o "$TMP/time.txt" "$@" >/dev/null
        kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$TMP/time.txt")
        ((kb > best)) && best=$kb
    done
    echo "$best"
}

# --- 3. measurements ----------------------------------------------------------------------
# Share of all CPUs busy over one second (other work on this machine widens the spread).
cpu_busy() {
    local a b
    read -r -a a < <(grep '^cpu ' /proc/stat)
    sleep 1
    read -r -a b < <(grep '^cpu ' /proc/stat)
    local total=0 i
    for ((i = 1; i < ${#a[@]}; i++)); do total=$((total + b[i] - a[i])); done
    local idle=$((b[4] + b[5] - a[4] - a[5]))
    ((total > 0)) || total=1
    echo "$(((100 * (total - idle) + total / 2) / total))%"
}
busy=$(cpu_busy)
meta cpu_busy_start "$busy"
echo "CPU busy before the measurements (1 s sample, all CPUs): $busy"
meta sizes "$(IFS=,; echo "${SIZES[*]}")"
meta mode "$MODE"
meta binary_bytes "$BINARY_BYTES"
meta shared_libraries "${LIBS:-unknown (no readelf)}"

# The device-list decoder alone (cargo bench target benches/decode.rs), 5,000 IPUHD records.
say "device-list decoder (cargo bench --bench decode)"
cargo bench --locked --quiet --bench decode -- 5000 | tee "$OUT/decode.txt"
meta no_cache_flag "$([[ ${#NO_CACHE_FLAG[@]} -gt 0 ]] && echo 1 || echo 0)"
meta warm_available "$HAS_LOGIN"
meta rss_runs "$RSS_RUNS"

for n in "${SIZES[@]}"; do
    label=$([[ $n == 0 ]] && echo "demo" || echo "$n+demo")
    runs=$(min_runs "$n")
    say "inventory: $label (fresh simulator per timed command, $([[ $MODE == quick ]] && echo "$runs" || echo ">= $runs") runs each)"

    # Cold launch. The home stays empty: if the launcher wrote anything there (a session
    # cache), every run starts by emptying it again.
    start_sim "$n"
    home=$(new_home)
    mapfile -t cmd < <(launch_args cold)
    url=$(hermetic "$home" "${cmd[@]}" -v 2>"$TMP/launch-v.txt")
    check_url "$url"
    launcher_http=$(sed -n 's/.*GET \/api\/v1\/devices -> [0-9]* [^(]*(\(HTTP\/[0-9.]*\),.*/\1/p' "$TMP/launch-v.txt" | awk 'NR == 1')
    curl_http=$(curl -q -sS --fail --noproxy '*' --cacert "$SIM_CERT" -o /dev/null -w '%{http_version}' "https://$SIM_HOST/_sim/stats")
    echo "protocol: launcher ${launcher_http:-unknown}, curl HTTP/$curl_http"
    [[ $n == "${SIZES[0]}" ]] && meta protocol "launcher ${launcher_http:-unknown}, curl HTTP/$curl_http"
    prepare=()
    if [[ -n $(find "$home" -mindepth 1 -print -quit) ]]; then
        echo "note: the cold launch wrote under its HOME; each run starts from an empty one"
        prepare=(--prepare "$(words find "$home" -mindepth 1 -delete)")
    fi
    bench "launch-$n" "cold launch, $label" "$runs" "$home" "$(words "${cmd[@]}")" "${prepare[@]}"
    meta "rss_launch_$n" "$(max_rss_kb "$home" "${cmd[@]}")"
    echo "simulator counters after the cold launches (one more connection and request for this query): $(sim_stats)"
    stop_sim

    # curl lower bound, 3 and 4 requests (each on a fresh simulator).
    for form in 3 4; do
        start_sim "$n"
        home=$(new_home)
        read -r jwt sid < <(hermetic "$home" "$CURL_HELPER" login "$SIM_HOST" "$SIM_CERT" "$USER_NAME")
        hermetic "$home" "$CURL_HELPER" check "$SIM_HOST" "$SIM_CERT" "$jwt" "$sid" "$USER_NAME" "$form"
        line=$(hermetic "$home" "$CURL_HELPER" command "$SIM_HOST" "$SIM_CERT" "$jwt" "$sid" "$USER_NAME" "$form")
        [[ $form == 3 ]] && printf 'timed command (3 requests): %s\n' "$line"
        bench "curl$form-$n" "curl lower bound, $form requests, $label" "$runs" "$home" "$line"
        if [[ $form == 4 ]]; then
            mapfile -d '' -t curl_argv < <(hermetic "$home" "$CURL_HELPER" argv "$SIM_HOST" "$SIM_CERT" "$jwt" "$sid" "$USER_NAME" "$form")
            meta "rss_curl4_$n" "$(max_rss_kb "$home" "${curl_argv[@]}")"
        fi
        stop_sim
    done

    # Vendor-style example: demo inventory only.
    if [[ $n == 0 ]]; then
        start_sim "$n"
        home=$(new_home)
        vendor=("$VENV/bin/python" "$ROOT/bench/vendor_example.py" "$SIM_HOST" "$USER_NAME" "$DEVICE")
        out=$(hermetic "$home" "${vendor[@]}")
        check_url "$(sed -n 's/^Viewer Session URL= //p' <<<"$out" | sed 's/&sharingMode=.*//')"
        bench "vendor-$n" "vendor-style Python example, $label" \
            "$([[ $MODE == quick ]] && echo 10 || echo 30)" "$home" "$(words "${vendor[@]}")"
        stop_sim
    fi

    # Warm launch: a cached session from `dsview-launch login`, then the launch without
    # --no-session-cache.
    if [[ $HAS_LOGIN == 1 ]]; then
        start_sim "$n"
        home=$(new_home)
        hermetic "$home" "$LAUNCH" --host "$SIM_HOST" -u "$USER_NAME" --ca-cert "$SIM_CERT" login >/dev/null
        mapfile -t cmd < <(launch_args warm)
        before=$(sim_stat logins)
        url=$(hermetic "$home" "${cmd[@]}")
        check_url "$url"
        after=$(sim_stat logins)
        if [[ $before != "$after" ]]; then
            meta warm_note "the launch after \`dsview-launch login\` still logged in: no cached session was used"
            echo "warning: the warm launch logged in again (no cached session used); timed anyway"
        fi
        bench "warm-$n" "warm launch, $label" "$runs" "$home" "$(words "${cmd[@]}")"
        stop_sim
    fi
done

# The same cold launch against a simulator that offers HTTP/2, where the two device-type
# queries run at once on the one connection (large inventories only; not in a quick run).
if [[ $MODE != quick ]]; then
    for n in "${SIZES[@]}"; do
        ((n >= 20000)) || continue
        label="$n+demo"
        say "inventory: $label, simulator offering HTTP/2"
        start_sim "$n" --http2
        home=$(new_home)
        mapfile -t cmd < <(launch_args cold)
        url=$(hermetic "$home" "${cmd[@]}" -v 2>"$TMP/launch-v.txt")
        check_url "$url"
        grep -q 'HTTP/2' "$TMP/launch-v.txt" || die "the launch did not use HTTP/2: $(cat "$TMP/launch-v.txt")"
        bench "h2-launch-$n" "cold launch over HTTP/2, $label" "$(min_runs "$n")" "$home" "$(words "${cmd[@]}")"
        meta "rss_h2_launch_$n" "$(max_rss_kb "$home" "${cmd[@]}")"
        read -r jwt sid < <(hermetic "$home" "$CURL_HELPER" login "$SIM_HOST" "$SIM_CERT" "$USER_NAME")
        line=$(hermetic "$home" "$CURL_HELPER" command "$SIM_HOST" "$SIM_CERT" "$jwt" "$sid" "$USER_NAME" 3)
        bench "h2-curl3-$n" "curl lower bound over HTTP/2, 3 requests, $label" "$(min_runs "$n")" "$home" "$line"
        meta "h2_curl_protocol_$n" "HTTP/$(curl -q -sS --fail --noproxy '*' --cacert "$SIM_CERT" -o /dev/null -w '%{http_version}' "https://$SIM_HOST/_sim/stats")"
        stop_sim
    done
fi

# Cold and warm launch when each API request takes a little longer, as on a real network: what
# the cached session saves (the login round trip) stands out of the noise.
if [[ $HAS_LOGIN == 1 ]]; then
    say "cold and warm launch, demo inventory, $LATENCY_MS ms added to every API request"
    start_sim 0 --latency-ms "$LATENCY_MS"
    home=$(new_home)
    runs=$([[ $MODE == quick ]] && echo 10 || echo 40)
    for kind in cold warm; do
        if [[ $kind == warm ]]; then
            hermetic "$home" "$LAUNCH" --host "$SIM_HOST" -u "$USER_NAME" --ca-cert "$SIM_CERT" login >/dev/null
        fi
        mapfile -t cmd < <(launch_args "$kind")
        before=$(sim_api_requests)
        check_url "$(hermetic "$home" "${cmd[@]}")"
        meta "latency_requests_$kind" "$(($(sim_api_requests) - before))"
        bench "latency-$kind" "$kind launch, demo, +$LATENCY_MS ms per request" "$runs" "$home" \
            "$(words "${cmd[@]}")"
    done
    meta latency_ms "$LATENCY_MS"
    stop_sim
fi

if [[ $MODE != quick ]]; then
    say "fleet lookup: 50 appliances with 200 ms latency (bench/fleet.sh)"
    "$ROOT/bench/fleet.sh" "$LAUNCH" "$SIM" "$OUT" "$HYPERFINE"
fi

say "dsview-launch --version, and a bare process spawn for scale"
home=$(new_home)
bench version "dsview-launch --version" "$([[ $MODE == quick ]] && echo 50 || echo 300)" "$home" \
    "$(words "$LAUNCH" --version)"
TRUE_BIN=$(command -v true)
[[ $TRUE_BIN == /* ]] || TRUE_BIN=/bin/true
bench spawn-floor "$TRUE_BIN" "$([[ $MODE == quick ]] && echo 50 || echo 300)" "$home" "$(words "$TRUE_BIN")"
meta spawn_floor_cmd "$TRUE_BIN"

# --- 4. summary ---------------------------------------------------------------------------
meta cpu_busy_end "$(cpu_busy)"
meta nproc "$(nproc)"
meta cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | awk 'NR == 1')"
meta kernel "$(uname -sr)"
meta rustc "$(rustc --version)"
meta curl "$(curl_version)"
meta hyperfine "$("$HYPERFINE" --version)"
meta launcher_version "$("$LAUNCH" --version)"
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)
if [[ -n $commit ]] && ! git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null; then commit+=" with uncommitted changes"; fi
meta commit "${commit:-unknown (not a git checkout)}"
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
say "summary (also in target/bench/summary.md)"
"$PYTHON" "$ROOT/bench/summary.py" "$OUT"
