#!/usr/bin/env bash
# The curl lower bound of a launch: the same HTTP requests the launcher makes, made by ONE curl
# invocation over ONE reused TLS connection. `scripts/bench.sh` times the command this script
# prints; this script itself is never inside a timed run.
#
# Usage:
#   bench/curl_lower_bound.sh login   HOST:PORT CERT USER
#       Logs in once (POST /api/v1/userSessions) and prints "<jwt> <user_session.id>".
#       The password comes from DSVIEW_PASSWORD.
#   bench/curl_lower_bound.sh command HOST:PORT CERT JWT SESSION_ID USER 3|4
#       Prints the timed curl command line, single-quoted word by word (for hyperfine -N).
#   bench/curl_lower_bound.sh argv    HOST:PORT CERT JWT SESSION_ID USER 3|4
#       Prints the same command's words, each ended by a NUL byte.
#   bench/curl_lower_bound.sh check   HOST:PORT CERT JWT SESSION_ID USER 3|4
#       Runs that command once with per-request status and connection counts and fails unless
#       every request succeeded and only the first one opened a connection.
#
# What the timed command does, in one process, in this order:
#   1. POST https://HOST:PORT/api/v1/userSessions, Content-Type: application/json,
#      body {"username":USER,"password":DSVIEW_PASSWORD}              (the login; answers 201)
#   2. GET  https://HOST:PORT/api/v1/devices?filter=device_type_programmatic_name%20ADX-IP-IQ
#      with Authorization: Bearer JWT                                 (the device list; 200)
#   3. (4-request form only) the same GET with ADX-IP-UHD               (the launcher's KVM
#      launch queries both KVM device types)
#   4. POST https://HOST:PORT/api/v1/userSessions/SESSION_ID:createTicket, Bearer JWT, no body
#                                                                        (the ticket; 200)
# The requests are separated by `--next`; each part repeats `--cacert CERT` (verification of
# the server certificate against CERT only) so that curl reuses the one TLS connection: one TCP
# connect and one TLS handshake in all (`check` proves it with %{num_connects}). HTTP version
# is curl's default (ALPN). Responses are written to stdout, which the benchmark discards.
#
# Why it is a lower bound rather than an equivalent: curl does not read the login answer. The
# token and session id of the later requests (JWT, SESSION_ID) come from a login made once
# before the timing (`login` above); the timed login still makes a real login round trip and
# creates a session, but nothing depends on its answer. curl also does no JSON parsing, no
# device matching and no URL building.
set -euo pipefail

die() { printf 'curl_lower_bound.sh: %s\n' "$*" >&2; exit 2; }

# Single-quote one word for a POSIX shell / shell-words split.
q() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

json_escape() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '%s' "$s"
}

login_body() {
    local user=$1
    : "${DSVIEW_PASSWORD:?DSVIEW_PASSWORD must hold the password}"
    printf '{"username":"%s","password":"%s"}' "$(json_escape "$user")" "$(json_escape "$DSVIEW_PASSWORD")"
}

# The words of the timed curl command, in the array CURL_ARGV.
build_argv() {
    local host=$1 cert=$2 jwt=$3 sid=$4 user=$5 form=$6
    local base="https://$host/api/v1"
    local common=(-sS --fail --cacert "$cert")
    CURL_ARGV=(curl -q
        "${common[@]}" -H 'Content-Type: application/json' --data-binary "$(login_body "$user")"
        "$base/userSessions"
        --next "${common[@]}" -H "Authorization: Bearer $jwt"
        "$base/devices?filter=device_type_programmatic_name%20ADX-IP-IQ")
    if [[ $form == 4 ]]; then
        CURL_ARGV+=(--next "${common[@]}" -H "Authorization: Bearer $jwt"
            "$base/devices?filter=device_type_programmatic_name%20ADX-IP-UHD")
    fi
    CURL_ARGV+=(--next "${common[@]}" -X POST -H "Authorization: Bearer $jwt"
        "$base/userSessions/$sid:createTicket")
}

cmd=${1:-}
case $cmd in
login)
    [[ $# -eq 4 ]] || die "usage: login HOST:PORT CERT USER"
    host=$2 cert=$3 user=$4
    answer=$(curl -q -sS --fail --cacert "$cert" -H 'Content-Type: application/json' \
        --data-binary "$(login_body "$user")" "https://$host/api/v1/userSessions")
    "${PYTHON:-python3}" -c '
import json, sys
a = json.loads(sys.argv[1])
print(a["jwt"], a["user_session"]["id"])
' "$answer"
    ;;
command | argv | check)
    [[ $# -eq 7 ]] || die "usage: $cmd HOST:PORT CERT JWT SESSION_ID USER 3|4"
    [[ $7 == 3 || $7 == 4 ]] || die "the form is 3 or 4 requests, not $7"
    build_argv "$2" "$3" "$4" "$5" "$6" "$7"
    if [[ $cmd == argv ]]; then
        printf '%s\0' "${CURL_ARGV[@]}"
        exit 0
    fi
    if [[ $cmd == command ]]; then
        line=""
        for word in "${CURL_ARGV[@]}"; do line+="${line:+ }$(q "$word")"; done
        printf '%s\n' "$line"
        exit 0
    fi
    # check: same argv, each part also writing "<status> <new connections>" on its own line.
    checked=()
    for word in "${CURL_ARGV[@]}"; do
        if [[ $word == --next ]]; then
            checked+=(-o /dev/null -w '%{http_code} %{num_connects}\n' --next)
        else
            checked+=("$word")
        fi
    done
    checked+=(-o /dev/null -w '%{http_code} %{num_connects}\n')
    mapfile -t got < <("${checked[@]}")
    want=("201 1" "200 0")
    [[ $7 == 4 ]] && want+=("200 0")
    want+=("200 0")
    if [[ "${got[*]}" != "${want[*]}" ]]; then
        die "unexpected (status, new connections) per request: got [${got[*]}], want [${want[*]}]"
    fi
    printf 'curl %s-request form: statuses and connection reuse as expected (%s)\n' "$7" "${got[*]}"
    ;;
*)
    die "usage: $0 login|command|check ... (see the comment at the top)"
    ;;
esac
