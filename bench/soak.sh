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
# SKIP_BUILD=1, KEEP=1, CREDGATE_BIN_DIR (the credgate and credgate-load to
# run, used as they are: nothing is built; unset, the release build in
# target/release).
#
# The helpers (cleanup on exit, spawn, start_credgate, ...) are in lib.sh;
# the policy in soak-policy.toml, the gateway config in gateway.toml.in.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

knobs SOAK_SECS=600 RELOAD_EVERY=30 SAMPLE_EVERY=10 EXPORT_EVERY=60 \
    RATE_OK=300 RATE_DENY=30 RATE_HOSTILE=400 RATE_ADMIN=5
bench_init credgate-soak
ensure_binaries

log "PKI and officers in $WORK"
pki_init
issue HN-AMR-0001 "Li Na" "Hunan Administration for Market Regulation"
issue HN-AMR-0002 "Zhao Lei" "Hunan Administration for Market Regulation"
issue HN-AMR-0666 "Probe" "Hunan Administration for Market Regulation"
issue CMP-0001 "Sun Mei" "Hunan Development and Reform Commission, Credit Office"

start_sample_db
SUBJECT=$(python3 - "$WORK/sample.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT id FROM subjects WHERE type = 'legal_person' ORDER BY id LIMIT 1").fetchone()[0])
EOF
)

cp "$BENCH/soak-policy.toml" "$WORK/policy.toml"
start_credgate gateway "sqlite://audit/inquiries.db" "$SDB_PORT"
GW=$CG_PID
PORT=$CG_PORT
ADMIN=$CG_ADMIN
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
