#!/usr/bin/env bash
# credgate against nginx and against the upstream directly, on loopback.
#
# One run measures, alternating the targets within each round:
#   direct        the fixed-body upstream over plain HTTP (the ceiling)
#   nginx         nginx as an mTLS reverse proxy (ssl_verify_client on,
#                 upstream keepalive, access log on)
#   haproxy       HAProxy (Debian) as an mTLS reverse proxy (verify
#                 required, server connection reuse, HTTP log to a file)
#   credgate-sql  credgate with the SQLite inquiry log
#   credgate-pg   credgate with the PostgreSQL inquiry log (skipped with a
#                 note when PostgreSQL is unreachable)
# for two realistic bodies (a subject, ~2 KB; a long records list, ~64 KB):
#   peak   keep-alive closed loop, best of ROUNDS rounds
#   half   keep-alive open loop at half of credgate-sql's peak (p99 latency)
#   hs     one handshake per request (full TLS handshake each time), once
# and prints a table with ratios to nginx and to direct, and CPU per
# request of the proxy (and, for credgate-pg with a PostgreSQL server on
# this machine, of that server: "store CPU"). Raw JSON lines go to
# $OUT. Everything started here is stopped on exit. See BENCHMARKS.md.
#
# Knobs (environment): DUR (s per run, 4), WARMUP (1), CONNS (32),
# HS_CONNS (16), HALF_CONNS (128, open loop), ROUNDS (2), LOADGEN_THREADS (2), PG_URL, OUT, KEEP=1 (keep
# the work dir), SKIP_BUILD=1, CREDGATE_BIN_DIR (the credgate and
# credgate-load to run, used as they are: nothing is built; unset, the
# release build in target/release), PROFILE=1 (perf profile of credgate-sql),
# ONLY="credgate-sql nginx" (measure only these targets), PHASES="peak half hs"
# (which phases to run; the half phase needs credgate-sql in the run, or
# HALF_RATE_SMALL and HALF_RATE_LARGE to fix its rates), PIN=1 (every
# proxy on CPU 0 alone, upstream and load generator on CPU 1),
# CHECKPOINT_INTERVAL_MS (when set, written as `checkpoint_interval_ms` into
# the generated gateway.toml's [audit] section: the longest time between two
# signed checkpoints while entries arrive; unset, credgate's default of
# 1000 ms applies — e.g. 86400000 leaves only the checkpoint every 1000
# entries; builds before the verifiable log do not know the key).
# The helpers (cleanup on exit, spawn, start_credgate, ...) are in lib.sh;
# the bench policy in policy.toml, the gateway config in gateway.toml.in.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

knobs DUR=4 WARMUP=1 CONNS=32 HS_CONNS=16 HALF_CONNS=128 ROUNDS=2 LOADGEN_THREADS=2 \
    PG_URL=postgres://postgres@127.0.0.1:5432/test CHECKPOINT_INTERVAL_MS=
if [[ -n "$CHECKPOINT_INTERVAL_MS" ]]; then
    AUDIT_EXTRA="checkpoint_interval_ms = $CHECKPOINT_INTERVAL_MS"
else
    AUDIT_EXTRA=""
fi
bench_init credgate-bench
OUT=${OUT:-$WORK/results.jsonl}
# The sample database's well-known legal person (sample/src/db/seed.rs,
# `fixture::LEGAL_PERSON`): records of every lifecycle kind, nested sensitive keys.
SUBJECT=91430104MA4PQ7RK38
OFFICER=HN-AMR-0001

# On exit, after the processes are stopped: the PostgreSQL schema goes too.
cleanup_hook() {
    if [[ -n "${PG_SCHEMA:-}" ]]; then
        psql "$PG_URL" -qAtc "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
    fi
}

# ---------------------------------------------------------------- build
ensure_binaries

for prog in nginx haproxy; do
    if ! command -v "$prog" >/dev/null; then
        log "installing $prog from Debian (the system service is not started)"
        apt-get install -y "$prog" >&2 || { apt-get update >&2 && apt-get install -y "$prog" >&2; }
    fi
done

# ---------------------------------------------------------------- PKI + data
log "dev PKI and officer certificate in $WORK"
pki_init
issue "$OFFICER" "Li Na" "Hunan Administration for Market Regulation" officer
CA="$WORK/pki/ca.pem"
CERT="$WORK/pki/officer.pem"
KEY="$WORK/pki/officer.key"

start_sample_db

# Capture real answers once. Small: the records of the generated legal person
# with the most records (~2 KB). Large: the fixture's real records (every
# lifecycle kind) repeated with fresh ids until the body is ~64 KB, as for a
# subject with a long history.
SMALL_SUBJECT=$(python3 - "$WORK/sample.db" "$SUBJECT" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
row = db.execute(
    "SELECT s.id FROM subjects s JOIN records r ON r.subject_id = s.id "
    "WHERE s.type = 'legal_person' AND s.id != ? GROUP BY s.id "
    "ORDER BY COUNT(r.id) DESC, s.id LIMIT 1", (sys.argv[2],)).fetchone()
print(row[0] if row else "")
EOF
)
[[ -n "$SMALL_SUBJECT" ]] || die "sample-db holds no generated legal person with records"
curl -fsS "http://127.0.0.1:$SDB_PORT/v1/subjects/$SMALL_SUBJECT/records" -o "$WORK/small.json" \
    || die "sample-db did not answer records for $SMALL_SUBJECT"
curl -fsS "http://127.0.0.1:$SDB_PORT/v1/subjects/$SUBJECT/records" -o "$WORK/records.json" \
    || die "sample-db did not answer records for $SUBJECT"
python3 - "$WORK/records.json" "$WORK/large.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
base = doc["records"]
if not base:
    sys.exit("no records to repeat")
out, i = [], 0
while len(json.dumps({"subject": doc["subject"], "records": out}, ensure_ascii=False).encode()) < 64 * 1024:
    r = dict(base[i % len(base)])
    r["id"] = "r-9%06d" % i
    out.append(r)
    i += 1
doc["records"] = out
open(sys.argv[2], "w").write(json.dumps(doc, ensure_ascii=False))
EOF
SMALL_BYTES=$(stat -c %s "$WORK/small.json")
LARGE_BYTES=$(stat -c %s "$WORK/large.json")
log "bodies: small $SMALL_BYTES bytes ($SMALL_SUBJECT), large $LARGE_BYTES bytes ($SUBJECT)"
echo "/v1/subjects/$SMALL_SUBJECT/records" >"$WORK/paths-small.txt"
echo "/v1/subjects/$SUBJECT/records" >"$WORK/paths-large.txt"

# ---------------------------------------------------------------- upstream
UP_PORT=$(free_port)
spawn upstream 'serving on' "$BIN/credgate-load" --serve "127.0.0.1:$UP_PORT" \
    --serve-seconds 1200 --threads 1 \
    --route "/v1/subjects/$SMALL_SUBJECT/records=$WORK/small.json" \
    --route "/v1/subjects/$SUBJECT/records=$WORK/large.json"
UP_PID=$STARTED_PID

# ---------------------------------------------------------------- nginx
NGX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log $WORK/nginx/logs/access.log;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    keepalive_requests 1000000;
    upstream credit {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$NGX_PORT ssl;
        ssl_certificate $WORK/pki/server.pem;
        ssl_certificate_key $WORK/pki/server.key;
        ssl_client_certificate $CA;
        ssl_verify_client on;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass http://credit;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Inquiry-Officer \$ssl_client_s_dn;
        }
    }
}
EOF
nginx -t -q -e "$WORK/nginx/logs/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
    || die "nginx config rejected"
nginx -e "$WORK/nginx/logs/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
    -g 'daemon off;' >"$WORK/nginx/out" 2>&1 &
NGX_PID=$!
PIDS+=("$NGX_PID")

# ---------------------------------------------------------------- haproxy
# mTLS like nginx: server certificate and key in one PEM, the officer CA
# required; keep-alive to the upstream (`http-reuse always`); one HTTP log
# line per request (HAProxy logs to syslog or stdout: stdout, to a file).
HAP_PORT=$(free_port)
mkdir -p "$WORK/haproxy"
cat "$WORK/pki/server.pem" "$WORK/pki/server.key" >"$WORK/haproxy/server.pem"
cat >"$WORK/haproxy/haproxy.cfg" <<EOF
global
    log stdout format raw local0
    nbthread 2
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
frontend mtls
    bind 127.0.0.1:$HAP_PORT ssl crt $WORK/haproxy/server.pem ca-file $CA verify required alpn http/1.1
    http-request set-header Inquiry-Officer %{+Q}[ssl_c_s_dn]
    default_backend credit
backend credit
    http-reuse always
    server up 127.0.0.1:$UP_PORT maxconn 256
EOF
haproxy -c -q -f "$WORK/haproxy/haproxy.cfg" || die "haproxy config rejected"
haproxy -f "$WORK/haproxy/haproxy.cfg" -db >"$WORK/haproxy/log" 2>&1 &
HAP_PID=$!
PIDS+=("$HAP_PID")

# ---------------------------------------------------------------- credgate
# The bench policy (bench/policy.toml); the gateways: start_credgate (lib.sh).
cp "$BENCH/policy.toml" "$WORK/policy.toml"

declare -A URL PROXY_PID
URL[direct]="http://127.0.0.1:$UP_PORT"
PROXY_PID[direct]=$UP_PID
URL[nginx]="https://127.0.0.1:$NGX_PORT"
PROXY_PID[nginx]=$NGX_PID
URL[haproxy]="https://127.0.0.1:$HAP_PORT"
PROXY_PID[haproxy]=$HAP_PID
start_credgate credgate-sql "sqlite://credgate-sql/inquiries.db" "$UP_PORT" "$AUDIT_EXTRA"
URL[credgate-sql]="https://127.0.0.1:$CG_PORT"
PROXY_PID[credgate-sql]=$CG_PID
TARGETS=(direct nginx haproxy credgate-sql)
PG_NOTE=""
PG_SCHEMA=""
if psql "$PG_URL" -qAtc 'select 1' >/dev/null 2>&1; then
    # A fresh schema per run (dropped on exit): a new chain, no old log.
    PG_SCHEMA="credgate_bench_$(date +%s)_$$"
    psql "$PG_URL" -qAtc "CREATE SCHEMA $PG_SCHEMA" >/dev/null
    [[ "$PG_URL" == *\?* ]] && sep='&' || sep='?'
    start_credgate credgate-pg "$PG_URL${sep}options=-csearch_path%3D$PG_SCHEMA" "$UP_PORT" "$AUDIT_EXTRA"
    URL[credgate-pg]="https://127.0.0.1:$CG_PORT"
    PROXY_PID[credgate-pg]=$CG_PID
    TARGETS+=(credgate-pg)
    # The PostgreSQL server's own CPU per inquiry, when it runs on this
    # machine: its postmaster's process tree (every backend and background
    # process) is watched beside credgate-pg (the "store CPU" column).
    if [[ "$PG_URL" =~ [@/](127\.0\.0\.1|localhost)([:/?]|$) ]]; then
        PG_PID=$(pgrep -o -x postgres || true)
    fi
else
    PG_NOTE="credgate-pg skipped: PostgreSQL at $PG_URL unreachable"
    log "$PG_NOTE"
fi

# PIN=1: each proxy on CPU 0 alone, the upstream and the load generator on
# CPU 1, so that every proxy is measured on the same one-core budget and
# not against the load generator for a core (PostgreSQL's server is not
# pinned). Needs taskset (util-linux).
LOADGEN_PREFIX=()
if [[ "${PIN:-0}" == 1 ]]; then
    command -v taskset >/dev/null || die "PIN=1 needs taskset (util-linux)"
    pin() {
        local cpu=$1 pid=$2 child
        taskset -a -p -c "$cpu" "$pid" >/dev/null
        for child in $(pgrep -P "$pid" || true); do
            taskset -a -p -c "$cpu" "$child" >/dev/null
        done
    }
    for t in nginx haproxy credgate-sql credgate-pg; do
        [[ -n "${PROXY_PID[$t]:-}" ]] && pin 0 "${PROXY_PID[$t]}"
    done
    pin 1 "$UP_PID"
    pin 1 "$SDB_PID"
    LOADGEN_PREFIX=(taskset -c 1)
    log "pinned: proxies on CPU 0, upstream and load generator on CPU 1"
fi

if [[ -n "${ONLY:-}" ]]; then
    kept=()
    for t in "${TARGETS[@]}"; do
        [[ " $ONLY " == *" $t "* ]] && kept+=("$t")
    done
    TARGETS=("${kept[@]}")
    [[ ${#TARGETS[@]} -gt 0 ]] || die "ONLY=$ONLY names no target"
fi
PHASES=" ${PHASES:-peak half hs} "

# load TARGET SIZE PHASE ROUND [extra credgate-load flags...]: one JSON line to $OUT.
load() {
    local target=$1 size=$2 phase=$3 round=$4
    shift 4
    local args=(--url "${URL[$target]}" --paths "$WORK/paths-$size.txt"
        --duration "$DUR" --warmup "$WARMUP" --threads "$LOADGEN_THREADS" --json
        --header "Inquiry-Purpose: administrative_inspection"
        --header "Inquiry-Case: BENCH-2026-001"
        --pid "${PROXY_PID[$target]}" --label "$target")
    if [[ "${URL[$target]}" == https://* ]]; then
        args+=(--ca "$CA" --cert "$CERT" --key "$KEY" --pid "$UP_PID")
    fi
    if [[ "$target" == credgate-pg && -n "${PG_PID:-}" ]]; then
        args+=(--pid "$PG_PID")
    fi
    local line
    line=$("${LOADGEN_PREFIX[@]}" "$BIN/credgate-load" "${args[@]}" "$@") || die "credgate-load failed against $target"
    printf '%s\n' "$line" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
r["target"], r["size"], r["phase"], r["round"] = sys.argv[1:5]
print(json.dumps(r))' "$target" "$size" "$phase" "$round" >>"$OUT"
    python3 -c '
import json, sys
r = json.loads(sys.argv[1])
l = r["latency_us"]
ms = lambda v: "-" if v is None else "%.2f" % (v / 1000)
bad = r["requests"] - r["ok"] + sum(r["errors"].values())
print("  %-13s %-5s %-4s %8.0f req/s  p50 %s ms  p99 %s ms  non-2xx/errors %d" % (
    sys.argv[2], sys.argv[3], sys.argv[4], r["rps"], ms(l["p50"]), ms(l["p99"]), bad))
' "$line" "$target" "$size" "$phase" >&2
}

# Sanity: every target answers 200 with the officer's certificate.
for t in "${TARGETS[@]}"; do
    opts=()
    [[ "${URL[$t]}" == https://* ]] && opts=(--cacert "$CA" --cert "$CERT" --key "$KEY")
    code=$(curl -sS -o /dev/null -w '%{http_code}' "${opts[@]}" \
        -H 'Inquiry-Purpose: administrative_inspection' -H 'Inquiry-Case: BENCH-2026-001' \
        "${URL[$t]}/v1/subjects/$SMALL_SUBJECT/records")
    [[ "$code" == 200 ]] || die "$t answered $code to the sanity request"
done
log "targets up: ${TARGETS[*]}"

# How fast is the real sample database? (Is it a fair upstream at all?)
log "sample-db directly (for reference)"
URL[sample-db]="http://127.0.0.1:$SDB_PORT"
PROXY_PID[sample-db]=$SDB_PID
load sample-db small peak 1 --connections "$CONNS"
kill -TERM "$SDB_PID" 2>/dev/null || true

# ---------------------------------------------------------------- measure
[[ "$PHASES" == *" peak "* ]] || ROUNDS=0
for round in $(seq "$ROUNDS"); do
    for size in small large; do
        log "round $round: peak, $size body"
        for t in "${TARGETS[@]}"; do
            load "$t" "$size" peak "$round" --connections "$CONNS"
        done
    done
done

for size in small large; do
    [[ "$PHASES" == *" half "* ]] || break
    # A fixed rate (HALF_RATE_SMALL, HALF_RATE_LARGE) for A/B runs whose
    # builds peak differently: both sides then face the same load.
    fixed=HALF_RATE_${size^^}
    why="half of credgate-sql's peak"
    if [[ -n "${!fixed:-}" ]]; then
        half=${!fixed}
        why="fixed by $fixed"
    else
        half=$(python3 - "$OUT" "$size" <<'EOF'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
rs = [r["rps"] for r in rs if r["target"] == "credgate-sql" and r["phase"] == "peak" and r["size"] == sys.argv[2]]
print("%.0f" % max(1.0, max(rs) / 2))
EOF
)
    fi
    log "open loop at $half req/s ($why), $size body"
    for t in "${TARGETS[@]}"; do
        load "$t" "$size" half 1 --connections "$HALF_CONNS" --rate "$half"
    done
done

[[ "$PHASES" == *" hs "* ]] && log "handshake per request, small body"
for t in "${TARGETS[@]}"; do
    [[ "$PHASES" == *" hs "* ]] || break
    [[ "$t" == direct ]] && continue
    load "$t" small hs 1 --connections "$HS_CONNS" --handshake-per-request
done

# ---------------------------------------------------------------- profile
# PROFILE=1: sample credgate-sql's CPU (perf, cpu-clock, no call graphs)
# during one more peak run per body; top symbols go to $WORK/perf-SIZE.txt
# and stderr. Not part of the table.
if [[ "${PROFILE:-0}" == 1 ]]; then
    if command -v perf >/dev/null && perf record -q -e cpu-clock -o /dev/null -- true 2>/dev/null; then
        for size in small large; do
            log "profiling credgate-sql, $size body"
            perf record -q -e cpu-clock -F 999 -p "${PROXY_PID[credgate-sql]}" \
                -o "$WORK/perf-$size.data" -- sleep "$((${DUR%.*} + 1))" 2>/dev/null &
            PERF_PID=$!
            load credgate-sql "$size" profile 1 --connections "$CONNS"
            wait "$PERF_PID" || true
            perf report -i "$WORK/perf-$size.data" --no-children --sort dso,sym --stdio 2>/dev/null \
                | grep -v '^#' | grep -v '^$' | head -40 >"$WORK/perf-$size.txt" || true
            head -25 "$WORK/perf-$size.txt" >&2
        done
    else
        log "perf cannot sample here; profile skipped"
    fi
fi

# ---------------------------------------------------------------- table
python3 - "$OUT" "$SMALL_BYTES" "$LARGE_BYTES" "$PG_NOTE" <<'EOF'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
small, large, note = sys.argv[2], sys.argv[3], sys.argv[4]
def pick(target, size, phase):
    rs = [r for r in rows if r["target"] == target and r["size"] == size and r["phase"] == phase]
    return max(rs, key=lambda r: r["rps"]) if rs else None
def ms(v):
    return "-" if v is None else "%.2f" % (v / 1000)
def ratio(a, b):
    return "-" if not a or not b else "%.2f" % (a / b)
def other(r):
    # machine busy cores not explained by the processes under test and the load generator
    busy = r.get("machine_busy_cores")
    if busy is None:
        return "-"
    ours = sum(c["cores"] or 0 for c in r["cpu"]) + (r["loadgen_cpu"]["cores"] or 0)
    return "%.2f" % max(0.0, busy - ours)
def cpu(r, i):
    c = r["cpu"][i] if len(r["cpu"]) > i else None
    return "-" if not c or c["us_per_request"] is None else "%.0f" % c["us_per_request"]
targets = [t for t in ["direct", "nginx", "haproxy", "credgate-sql", "credgate-pg"] if any(r["target"] == t for r in rows)]
print()
print("| body | measure | target | req/s | p50 ms | p99 ms | vs nginx (req/s) | vs direct (req/s) | p99 vs nginx | proxy CPU µs/req | store CPU µs/req | proxy cores | other load (cores) | non-2xx+errors |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
sizes = {"small": "~%s B" % small, "large": "~%s B" % large}
phases = {"peak": "peak (keep-alive, closed loop)", "half": "open loop, half credgate-sql peak" if not (os.environ.get("HALF_RATE_SMALL") or os.environ.get("HALF_RATE_LARGE")) else "open loop, fixed rate", "hs": "handshake per request"}
for phase in ["peak", "half", "hs"]:
    for size in ["small", "large"]:
        ref_n, ref_d = pick("nginx", size, phase), pick("direct", size, phase)
        for t in targets:
            r = pick(t, size, phase)
            if r is None:
                continue
            l = r["latency_us"]
            bad = r["requests"] - r["ok"] + sum(r["errors"].values())
            label = phases[phase] + (" @%.0f/s" % r["target_rate"] if r.get("target_rate") else "")
            cores = r["cpu"][0]["cores"] if r["cpu"] and r["cpu"][0]["cores"] is not None else None
            # store CPU: the PostgreSQL server's (watched third), credgate-pg only
            store = cpu(r, 2) if t == "credgate-pg" else "-"
            print("| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (
                sizes[size], label, t, r["rps"], ms(l["p50"]), ms(l["p99"]),
                ratio(r["rps"], ref_n and ref_n["rps"]), ratio(r["rps"], ref_d and ref_d["rps"]),
                ratio(l["p99"], ref_n and ref_n["latency_us"]["p99"]),
                cpu(r, 0), store, "-" if cores is None else "%.2f" % cores, other(r), bad))
sdb = pick("sample-db", "small", "peak")
if sdb:
    print()
    print("sample-db (SQLite-backed, the real stand-in database) directly, small body: %.0f req/s, p99 %s ms, %s µs CPU/req" % (
        sdb["rps"], ms(sdb["latency_us"]["p99"]), cpu(sdb, 0)))
if note:
    print()
    print(note)
EOF
log "raw results: $OUT"
