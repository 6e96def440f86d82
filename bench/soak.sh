#!/usr/bin/env bash
# A soak of credgate: SOAK_SECS (default 600) of mixed traffic on loopback,
# the policy reloaded every RELOAD_EVERY seconds, the gateway's RSS and open
# file descriptors sampled every SAMPLE_EVERY seconds — and at the end, every
# answer any client received checked against the inquiry log.
#
# Traffic (each a `credgate-load` open loop, running the whole soak):
#   allowed   an inspector's records inquiries (small answer)     RATE_OK/s
#   refused   an officer whose role lacks the purpose (403)       RATE_DENY/s
#   hostile   an officer hammering unrouted paths (404, then 429
#             past the refusal budget, summarised in the log)    RATE_HOSTILE/s
#   admin     a compliance officer reading /audit/entries         RATE_ADMIN/s
#   exports   a compliance officer exporting the whole log with curl every
#             EXPORT_EVERY seconds (streamed; at most 2 at once)
#
# Checks (exit 1 if one fails): the log verifies (`audit verify`); every
# answer with an Inquiry-Id is an entry of the log, except answers past the
# refusal budget, whose number must equal the counts of the
# `refusals_summarised` entries (zero unlogged answers); the RSS and fd
# curves are printed (and written to $WORK/samples.tsv) for BENCHMARKS.md.
#
# Knobs: SOAK_SECS, RELOAD_EVERY (30), SAMPLE_EVERY (10), EXPORT_EVERY (60),
# RATE_OK (300), RATE_DENY (30), RATE_HOSTILE (400), RATE_ADMIN (5),
# SKIP_BUILD=1, KEEP=1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SOAK_SECS=${SOAK_SECS:-600}
RELOAD_EVERY=${RELOAD_EVERY:-30}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
EXPORT_EVERY=${EXPORT_EVERY:-60}
RATE_OK=${RATE_OK:-300}
RATE_DENY=${RATE_DENY:-30}
RATE_HOSTILE=${RATE_HOSTILE:-400}
RATE_ADMIN=${RATE_ADMIN:-5}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/credgate-soak.XXXXXX")
BIN="$ROOT/target/release"

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    if [[ "${KEEP:-0}" == 1 ]]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for() {
    local pid=$1 file=$2 re=$3
    for _ in $(seq 600); do
        if grep -qE "$re" "$file" 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || { tail -5 "${file%.out}.err" >&2 || true; die "process $pid exited"; }
        sleep 0.1
    done
    die "timed out waiting for /$re/ in $file"
}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release --bin credgate --bin credgate-load) >&2
fi
[[ -x "$BIN/credgate" && -x "$BIN/credgate-load" ]] || die "release binaries missing in $BIN"

log "PKI and officers in $WORK"
"$BIN/credgate" certs init --dir "$WORK/pki" >/dev/null
issue() {
    "$BIN/credgate" certs issue --dir "$WORK/pki" --officer-id "$1" --name "$2" \
        --unit "$3" --out "$WORK/pki/$1" >/dev/null
}
issue HN-AMR-0001 "Li Na" "Hunan Administration for Market Regulation"
issue HN-AMR-0002 "Zhao Lei" "Hunan Administration for Market Regulation"
issue HN-AMR-0666 "Probe" "Hunan Administration for Market Regulation"
issue CMP-0001 "Sun Mei" "Hunan Development and Reform Commission, Credit Office"

log "sample credit database (200 + 200 subjects)"
SDB_PORT=$(free_port)
"$BIN/credgate" sample-db --listen "127.0.0.1:$SDB_PORT" --db "$WORK/sample.db" --subjects 200 \
    >"$WORK/sample-db.out" 2>"$WORK/sample-db.err" &
PIDS+=($!)
wait_for "${PIDS[-1]}" "$WORK/sample-db.out" 'listening on'
SUBJECT=$(python3 - "$WORK/sample.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT id FROM subjects WHERE type = 'legal_person' ORDER BY id LIMIT 1").fetchone()[0])
EOF
)

cat >"$WORK/policy.toml" <<'EOF'
[items.basic]
category = "basic"
[items.administrative_penalty]
category = "untrustworthy"
inquiry_period_days = 1095
[items.court_enforcement]
category = "untrustworthy"
inquiry_period_days = 1825
statutory_basis = "Civil Procedure Law enforcement provisions"
[items.commendation]
category = "positive"
[purposes]
administrative_inspection = "Administrative inspection and spot checks"
recruitment = "Recruitment and promotion of public employees"
[fields]
prohibited = ["religion", "genetic_data", "fingerprint", "blood_type", "illness", "medical_history"]
consent_required = ["income", "savings", "real_estate", "tax_paid"]
[fields.mask]
id_number = { keep_start = 6, keep_end = 4 }
phone = { keep_start = 3, keep_end = 2 }
[[roles]]
name = "market_inspector"
kind = "state_organ"
items = ["basic", "administrative_penalty", "court_enforcement"]
purposes = ["administrative_inspection"]
subject_types = ["legal_person"]
rate = "1000000/second"
[[roles]]
name = "recruiter"
kind = "state_organ"
items = ["basic"]
purposes = ["recruitment"]
subject_types = ["natural_person"]
rate = "1000000/second"
[[roles]]
name = "auditor"
kind = "compliance"
[[officers]]
id = "HN-AMR-0001"
name = "Li Na"
unit = "Hunan Administration for Market Regulation"
roles = ["market_inspector"]
valid_from = "2020-01-01"
valid_until = "2099-12-31"
[[officers]]
id = "HN-AMR-0002"
name = "Zhao Lei"
unit = "Hunan Administration for Market Regulation"
roles = ["recruiter"]
valid_from = "2020-01-01"
valid_until = "2099-12-31"
[[officers]]
id = "HN-AMR-0666"
name = "Probe"
unit = "Hunan Administration for Market Regulation"
roles = ["market_inspector"]
valid_from = "2020-01-01"
valid_until = "2099-12-31"
[[officers]]
id = "CMP-0001"
name = "Sun Mei"
unit = "Hunan Development and Reform Commission, Credit Office"
roles = ["auditor"]
valid_from = "2020-01-01"
valid_until = "2099-12-31"
EOF

PORT=$(free_port)
ADMIN=$(free_port)
cat >"$WORK/gateway.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT"
cert = "pki/server.pem"
key = "pki/server.key"
client_ca = "pki/ca.pem"
crl = ["pki/ca.crl"]

[identity]
officer_id = "subject.serialNumber"
name = "subject.CN"
unit = "subject.O"

[admin]
listen = "127.0.0.1:$ADMIN"

[upstream]
url = "http://127.0.0.1:$SDB_PORT"
timeout_ms = 5000

[audit]
store = "sqlite://audit/inquiries.db"
signing_key = "pki/audit-signing.pk8"

[policy]
file = "policy.toml"
EOF
"$BIN/credgate" serve --config "$WORK/gateway.toml" >"$WORK/gateway.out" 2>"$WORK/gateway.err" &
GW=$!
PIDS+=("$GW")
wait_for "$GW" "$WORK/gateway.out" 'data plane listening on'
log "gateway pid $GW on :$PORT (admin :$ADMIN), subject $SUBJECT, soak ${SOAK_SECS}s"

# load NAME OFFICER RATE URL PATH HEADER...
load() {
    local name=$1 officer=$2 rate=$3 url=$4 path=$5
    shift 5
    local hdr=()
    for h in "$@"; do hdr+=(--header "$h"); done
    echo "$path" >"$WORK/paths-$name.txt"
    "$BIN/credgate-load" --url "$url" --ca "$WORK/pki/ca.pem" \
        --cert "$WORK/pki/$officer.pem" --key "$WORK/pki/$officer.key" \
        --connections 4 --rate "$rate" --warmup 0 --duration "$SOAK_SECS" --threads 1 \
        --paths "$WORK/paths-$name.txt" "${hdr[@]}" --label "$name" --json \
        --record "$WORK/answers-$name.txt" >"$WORK/load-$name.json" 2>"$WORK/load-$name.err" &
    PIDS+=($!)
    LOADS+=($!)
}
LOADS=()
load allowed HN-AMR-0001 "$RATE_OK" "https://127.0.0.1:$PORT" "/v1/subjects/$SUBJECT/records" \
    "Inquiry-Purpose: administrative_inspection" "Inquiry-Case: SOAK-1"
load refused HN-AMR-0002 "$RATE_DENY" "https://127.0.0.1:$PORT" "/v1/subjects/$SUBJECT/records" \
    "Inquiry-Purpose: recruitment" "Inquiry-Case: SOAK-2"
load hostile HN-AMR-0666 "$RATE_HOSTILE" "https://127.0.0.1:$PORT" "/etc/passwd" \
    "Inquiry-Purpose: administrative_inspection" "Inquiry-Case: SOAK-3"
load admin CMP-0001 "$RATE_ADMIN" "https://127.0.0.1:$ADMIN" "/audit/entries?limit=50"

printf 't_s\trss_kb\tfds\n' >"$WORK/samples.tsv"
sample() {
    local t=$1 rss fds
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$GW/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$GW/fd" 2>/dev/null | wc -l)
    printf '%s\t%s\t%s\n' "$t" "$rss" "$fds" >>"$WORK/samples.tsv"
}
start=$(date +%s)
exports=0
next_reload=$RELOAD_EVERY
next_export=$EXPORT_EVERY
next_sample=0
while :; do
    now=$(( $(date +%s) - start ))
    (( now > SOAK_SECS )) && break
    if (( now >= next_sample )); then sample "$now"; next_sample=$(( next_sample + SAMPLE_EVERY )); fi
    if (( now >= next_reload )); then
        touch "$WORK/policy.toml"
        kill -HUP "$GW"
        next_reload=$(( next_reload + RELOAD_EVERY ))
    fi
    if (( now >= next_export )); then
        curl -sS --max-time 60 --cacert "$WORK/pki/ca.pem" --cert "$WORK/pki/CMP-0001.pem" \
            --key "$WORK/pki/CMP-0001.key" \
            -D "$WORK/export-$exports.head" -o "$WORK/export-$exports.jsonl" \
            "https://127.0.0.1:$ADMIN/audit/export" || true
        exports=$(( exports + 1 ))
        next_export=$(( next_export + EXPORT_EVERY ))
    fi
    kill -0 "$GW" 2>/dev/null || die "the gateway died during the soak"
    sleep 1
done
log "soak over: waiting for the load generators"
for p in "${LOADS[@]}"; do wait "$p" || true; done
sample "$(( $(date +%s) - start ))"
kill -TERM "$GW"
for _ in $(seq 100); do kill -0 "$GW" 2>/dev/null || break; sleep 0.1; done

log "verifying the log"
if ! "$BIN/credgate" audit verify --config "$WORK/gateway.toml" >"$WORK/verify.out" 2>&1; then
    cat "$WORK/verify.out" >&2
    die "audit verify failed"
fi
tail -3 "$WORK/verify.out" >&2

python3 - "$WORK" <<'EOF'
import glob, json, os, re, sqlite3, sys
work = sys.argv[1]
db = sqlite3.connect(os.path.join(work, "audit/inquiries.db"))
logged = {}
summarised = 0
summaries = 0
for inquiry_id, status, reason, rule, suppressed in db.execute(
        "SELECT inquiry_id, status, reason, rule, records_suppressed FROM entries"):
    logged[inquiry_id] = status
    if reason == "refusals_summarised":
        summaries += 1
        m = re.search(r"(\d+) refused", rule or "")
        n = int(m.group(1)) if m else 0
        if not n and suppressed:
            try:
                n = sum(json.loads(suppressed).values())
            except Exception:
                n = 0
        summarised += n
answers = unlogged_429 = unlogged_other = no_id = 0
by_stream = {}
for path in sorted(glob.glob(os.path.join(work, "answers-*.txt"))):
    name = os.path.basename(path)[8:-4]
    counts = by_stream.setdefault(name, {})
    for line in open(path):
        status, _, iid = line.strip().partition(" ")
        answers += 1
        counts[status] = counts.get(status, 0) + 1
        if iid == "-":
            no_id += 1
        elif iid not in logged:
            if status == "429":
                unlogged_429 += 1
            else:
                unlogged_other += 1
print(f"answers: {answers}; log entries: {len(logged)} ({summaries} refusal summaries accounting for {summarised})")
for name, counts in by_stream.items():
    print(f"  {name}: " + ", ".join(f"{s}×{n}" for s, n in sorted(counts.items())))
print(f"answers without an entry: {unlogged_other} (must be 0); past the refusal budget: {unlogged_429} (summaries account for {summarised}); without Inquiry-Id: {no_id}")
rows = [l.split("\t") for l in open(os.path.join(work, "samples.tsv")).read().split("\n")[1:] if l]
rss = [int(r[1]) for r in rows]
fds = [int(r[2]) for r in rows]
print(f"RSS (MiB): first {rss[0]/1024:.1f}, min {min(rss)/1024:.1f}, max {max(rss)/1024:.1f}, last {rss[-1]/1024:.1f}")
print(f"open fds: first {fds[0]}, min {min(fds)}, max {max(fds)}, last {fds[-1]}")
print("curve (t s, RSS MiB, fds): " + "  ".join(f"{r[0]}:{int(r[1])/1024:.0f}/{r[2]}" for r in rows))
ok = unlogged_other == 0 and no_id == 0 and unlogged_429 == summarised
sys.exit(0 if ok else 1)
EOF
