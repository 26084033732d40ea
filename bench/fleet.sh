#!/usr/bin/env bash
# Fleet lookup benchmark: 50 simulated appliances, each answering with 200 ms of added latency,
# one of which holds rack-a-01. Compares a lookup on that one appliance (-p) with a lookup across
# the group (-g, --jobs 50), and the group with one more appliance that never answers (--timeout 2).
#
# Usage: bench/fleet.sh LAUNCHER SIMULATOR OUT_DIR HYPERFINE
# Writes OUT_DIR/fleet.tsv (label, mean s, stddev s) and hyperfine exports; talks to 127.0.0.1 only.
set -euo pipefail
LAUNCH=$1 SIM=$2 OUT=$3 HYPERFINE=$4
N=50 LATENCY_MS=200 HOLDER=37
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

start() { # start NAME ARGS...: a simulator; prints its port
    local name=$1
    shift
    env -i PATH="$PATH" "$SIM" --bind 127.0.0.1 --port 0 --quiet --max-sessions 1000000 \
        --cert-out "$TMP/$name.pem" "$@" >"$TMP/$name.out" 2>/dev/null </dev/null &
    PIDS+=($!)
}
for i in $(seq 0 $((N - 1))); do
    if ((i == HOLDER)); then
        start "a$i" --latency-ms "$LATENCY_MS"
    else
        start "a$i" --latency-ms "$LATENCY_MS" --no-demo --devices 20
    fi
done
start stalled --fault login=stall-headers
port() {
    local waited=0
    until grep -q '^fingerprint: ' "$TMP/$1.out" 2>/dev/null; do
        ((waited++ < 300)) || { echo "fleet.sh: simulator $1 did not start" >&2; exit 1; }
        sleep 0.1
    done
    sed -n 's|^dsview-sim listening on https://127\.0\.0\.1:\([0-9][0-9]*\)/\{0,1\}$|\1|p' "$TMP/$1.out"
}
mkdir -p "$TMP/home/config/dsview-launch"
CONFIG="$TMP/home/config/dsview-launch/config.toml"
members=()
{
    for i in $(seq 0 $((N - 1))); do
        printf '[profiles.a%d]\nhost = "127.0.0.1:%s"\nuser = "admin"\nca_cert = "%s"\n\n' \
            "$i" "$(port "a$i")" "$TMP/a$i.pem"
        members+=("\"a$i\"")
    done
    printf '[profiles.stalled]\nhost = "127.0.0.1:%s"\nuser = "admin"\nca_cert = "%s"\n\n' \
        "$(port stalled)" "$TMP/stalled.pem"
    (IFS=,; printf '[groups.dc]\nprofiles = [%s]\n\n' "${members[*]}")
    (IFS=,; printf '[groups.dc_down]\nprofiles = [%s,"stalled"]\n' "${members[*]}")
} >"$CONFIG"
chmod 600 "$CONFIG"

run() { # run NAME LABEL ARGS...
    local name=$1 label=$2
    shift 2
    env -i PATH="$PATH" HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/home/config" \
        XDG_STATE_HOME="$TMP/home/state" DSVIEW_PASSWORD=admin-pass NO_COLOR=1 \
        "$HYPERFINE" -N --warmup 1 --runs 10 --export-json "$OUT/hyperfine/$name.json" \
        -n "$label" "$LAUNCH --no-session-cache $* kvm rack-a-01 -n"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(sys.argv[2], r["mean"], r["stddev"], sep="\t")' \
        "$OUT/hyperfine/$name.json" "$label" >>"$OUT/fleet.tsv"
}
: >"$OUT/fleet.tsv"
run fleet-one "one appliance (-p a$HOLDER)" -p "a$HOLDER"
run fleet-group "group of $N (-g dc --jobs $N)" -g dc --jobs "$N"
run fleet-group-16 "group of $N (-g dc, default --jobs 16)" -g dc
run fleet-down "group of $N + 1 not answering (--timeout 2 --jobs $((N + 1)))" -g dc_down --timeout 2 --jobs "$((N + 1))"
