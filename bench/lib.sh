# Shared by bench/compare.sh and bench/soak.sh (sourced, not run): the work
# dir and the cleanup of everything started, logging, ports, starting and
# waiting for processes, the binaries, the dev PKI, the sample database and
# a credgate gateway from bench/gateway.toml.in.
#
# Sets ROOT (the repository) and BENCH (this folder) when sourced;
# bench_init sets WORK, PIDS and BIN. The binaries: $CREDGATE_BIN_DIR when
# set (used as they are, nothing is built: e.g. target/debug), else
# target/release, built first unless SKIP_BUILD=1.
#
# shellcheck shell=bash
# Globals set here for the scripts that source this (SDB_PID, CG_*):
# shellcheck disable=SC2034

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)

# knobs NAME=DEFAULT...: each NAME as the environment has it, or DEFAULT
# where it is unset or empty (as ${NAME:-DEFAULT}).
knobs() {
    local kv name
    for kv in "$@"; do
        name=${kv%%=*}
        if [[ -z "${!name:-}" ]]; then
            printf -v "$name" '%s' "${kv#*=}"
        fi
    done
}

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# bench_init NAME: a fresh work dir $WORK (NAME.XXXXXX under $TMPDIR), and
# the traps that stop every process in PIDS on exit (INT and TERM exit 130).
# A script may define cleanup_hook: it runs after the processes are stopped,
# before the work dir goes.
bench_init() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    BIN=${CREDGATE_BIN_DIR:-$ROOT/target/release}
    PIDS=()
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        # bounded wait: a process that ignores SIGTERM gets SIGKILL after 5 s
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    if declare -F cleanup_hook >/dev/null; then
        cleanup_hook || true
    fi
    if [[ "${KEEP:-0}" == 1 ]]; then
        echo "work dir kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for PID FILE REGEX: wait (≤ 60 s) until FILE has a line matching
# REGEX; fail at once, showing its stderr (FILE with .err), if PID exits.
wait_for() {
    local pid=$1 file=$2 re=$3
    for _ in $(seq 600); do
        if grep -qE "$re" "$file" 2>/dev/null; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -5 "${file%.out}.err" >&2 2>/dev/null || true
            die "process $pid exited before printing /$re/ to $file"
        fi
        sleep 0.1
    done
    die "timed out waiting for /$re/ in $file"
}

# spawn NAME REGEX COMMAND...: runs COMMAND in the background (stdout to
# $WORK/NAME.out, stderr to $WORK/NAME.err), stopped on exit; waits until it
# prints REGEX; its pid in STARTED_PID.
spawn() {
    local name=$1 re=$2
    shift 2
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    wait_for "$STARTED_PID" "$WORK/$name.out" "$re"
}

# ensure_binaries: credgate and credgate-load in $BIN (see the top).
ensure_binaries() {
    if [[ -z "${CREDGATE_BIN_DIR:-}" && "${SKIP_BUILD:-0}" != 1 ]]; then
        log "building release binaries"
        (cd "$ROOT" && cargo build --release --bin credgate --bin credgate-load) >&2
    fi
    [[ -x "$BIN/credgate" && -x "$BIN/credgate-load" ]] || die "credgate binaries missing in $BIN"
}

# pki_init: the dev PKI in $WORK/pki (CA and CRL, server certificate, audit
# signing key, consent authority key).
pki_init() {
    "$BIN/credgate" certs init --dir "$WORK/pki" >/dev/null
}

# issue OFFICER_ID NAME UNIT [OUT]: an officer certificate and key,
# $WORK/pki/OUT.pem and .key (OUT defaults to OFFICER_ID).
issue() {
    "$BIN/credgate" certs issue --dir "$WORK/pki" --officer-id "$1" --name "$2" \
        --unit "$3" --out "$WORK/pki/${4:-$1}" >/dev/null
}

# start_sample_db: the sample credit database (200 generated subjects of each
# kind plus the fixtures) in $WORK/sample.db; sets SDB_PORT and SDB_PID.
start_sample_db() {
    log "sample credit database (seeding 200 + 200 subjects)"
    SDB_PORT=$(free_port)
    spawn sample-db 'listening on' "$BIN/credgate" sample-db --listen "127.0.0.1:$SDB_PORT" \
        --db "$WORK/sample.db" --subjects 200
    SDB_PID=$STARTED_PID
}

# fill TEMPLATE NAME=VALUE...: TEMPLATE with every @NAME@ replaced by VALUE,
# on stdout; fails if a placeholder is left.
fill() {
    local template=$1 text kv
    text=$(<"$template")
    shift
    for kv in "$@"; do
        # quoted, so that `&` in VALUE stays itself (bash 5.2 patsub_replacement)
        text=${text//"@${kv%%=*}@"/"${kv#*=}"}
    done
    if [[ "$text" =~ @[A-Z_]+@ ]]; then
        die "placeholder ${BASH_REMATCH[0]} left unfilled in $template"
    fi
    printf '%s\n' "$text"
}

# start_credgate NAME STORE UPSTREAM_PORT [AUDIT_EXTRA]: writes $WORK/NAME.toml
# from bench/gateway.toml.in (pki/ and policy.toml in $WORK; AUDIT_EXTRA, a
# line for its [audit] section), starts the gateway on it; sets CG_PORT,
# CG_ADMIN and CG_PID.
start_credgate() {
    local name=$1 store=$2 upstream=$3 extra=${4:-}
    local port admin
    port=$(free_port)
    admin=$(free_port)
    if [[ "$store" == sqlite://* ]]; then
        mkdir -p "$WORK/$(dirname "${store#sqlite://}")"
    fi
    fill "$BENCH/gateway.toml.in" PORT="$port" ADMIN_PORT="$admin" \
        UPSTREAM_PORT="$upstream" STORE="$store" AUDIT_EXTRA="$extra" >"$WORK/$name.toml"
    spawn "$name" 'data plane listening on' "$BIN/credgate" serve --config "$WORK/$name.toml"
    CG_PID=$STARTED_PID
    CG_PORT=$port
    CG_ADMIN=$admin
}
