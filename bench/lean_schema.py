#!/usr/bin/env python3
"""Item 3 of issue 18: what a lean inquiry-log schema would save.

Builds the `entries` table three ways in SQLite (Python's sqlite3, WAL,
4 KiB pages, synchronous = OFF so only SQLite's own work is timed; the
fsync per commit is the same for every variant), loads PRELOAD rows, then
commits BATCHES batches of BATCH entries (one transaction each, as the
writer does) and reports per commit: WAL frames written (pages dirtied),
SQLite's CPU per entry, and the database's bytes per entry.

- v3: the schema as `audit/src/store/mod.rs` creates it (hashes, the
  certificate fingerprint and the Merkle nodes as hex text, the chain id
  as text in the primary key, nine secondary indexes);
- lean: the same indexes, hashes / fingerprint / nodes as 32-byte blobs,
  the chain as a small integer;
- lean-rowid: lean, and the primary key folded into SQLite's rowid
  (chain << 40 | seq), so the key's own b-tree goes.

Two value mixes: `bench` is what compare.sh sends (one officer, one
subject, one case: every index takes its inserts at one end), `spread`
draws officer, unit, subject and case at random (each index takes its
inserts all over its b-tree, as a busy platform would).

    python3 bench/lean_schema.py [ROUNDS]
"""
import hashlib
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time

PRELOAD, BATCHES, BATCH = 20_000, 400, 11

INDEXES = [
    "CREATE INDEX entries_by_officer ON entries (officer_id, time_ms)",
    "CREATE INDEX entries_by_subject ON entries (subject_id, time_ms)",
    "CREATE INDEX entries_refused_by_decision ON entries (decision, time_ms) WHERE decision <> 'allow'",
    "CREATE INDEX entries_by_time ON entries (time_ms)",
    "CREATE INDEX entries_by_unit ON entries (unit, time_ms)",
    "CREATE INDEX entries_by_purpose ON entries (purpose, time_ms)",
    "CREATE INDEX entries_by_case ON entries (inquiry_case, time_ms)",
    "CREATE INDEX entries_refused_by_reason ON entries (reason, time_ms) WHERE reason <> 'ok'",
    "CREATE INDEX entries_by_inquiry ON entries (inquiry_id)",
]

REST = """time_ms BIGINT NOT NULL, inquiry_id TEXT NOT NULL, plane TEXT NOT NULL,
 officer_id TEXT NOT NULL, officer_name TEXT NOT NULL, unit TEXT NOT NULL,
 cert_fingerprint {h} NOT NULL, purpose TEXT, inquiry_case TEXT, consent_id TEXT,
 method TEXT NOT NULL, path TEXT NOT NULL, subject_id TEXT, subject_type TEXT,
 items_requested TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL,
 rule TEXT NOT NULL, statutory_basis TEXT, status BIGINT NOT NULL,
 records_returned BIGINT NOT NULL, records_suppressed TEXT NOT NULL,
 removed_keys TEXT NOT NULL, masked_keys TEXT NOT NULL,
 objection_labeled BIGINT NOT NULL, upstream_status BIGINT,
 latency_ms BIGINT NOT NULL, tree_nodes {h}"""

SCHEMAS = {
    "v3": "CREATE TABLE entries (chain_id TEXT NOT NULL, seq BIGINT NOT NULL, "
    "prev_hash TEXT NOT NULL, hash TEXT NOT NULL, " + REST.format(h="TEXT")
    + ", PRIMARY KEY (chain_id, seq))",
    "lean": "CREATE TABLE entries (chain_no INTEGER NOT NULL, seq BIGINT NOT NULL, "
    "prev_hash BLOB NOT NULL, hash BLOB NOT NULL, " + REST.format(h="BLOB")
    + ", PRIMARY KEY (chain_no, seq))",
    "lean-rowid": "CREATE TABLE entries (id INTEGER PRIMARY KEY, chain_no INTEGER NOT NULL, "
    "seq BIGINT NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL, " + REST.format(h="BLOB") + ")",
}

CHAIN = os.urandom(16).hex()


def row(variant, mix, rng, seq, t):
    digest = lambda s: hashlib.sha256(s).digest()
    h, prev = digest(b"%d" % seq), digest(b"%d" % (seq - 1))
    nodes = b"".join(digest(bytes([i]) + h) for i in range((seq & -seq).bit_length()))
    fp = digest(b"certificate")
    spread = mix == "spread"
    officer = "officer-%03d" % rng.randrange(400) if spread else "officer-001"
    unit = "unit-%02d" % rng.randrange(40) if spread else "unit-01"
    subject = "%018d" % rng.randrange(10**18) if spread else "110101199003072316"
    case = "CASE-2026-%05d" % rng.randrange(100_000) if spread else "CASE-2026-00042"
    lean = variant != "v3"
    raw = (lambda b: b) if lean else (lambda b: b.hex())
    values = [
        1 if lean else CHAIN, seq, raw(prev), raw(h), t,
        "%012x" % t + os.urandom(10).hex(),  # time-ordered, as the gateway makes them
        "query", officer, "Officer Name", unit, raw(fp), "credit_review", case, None,
        "GET", "/v1/subjects/%s/records" % subject, subject, "person",
        json.dumps(["basic", "loans"]), "allow", "ok", "officers-may-query",
        "Regulations art. 12", 200, 5, json.dumps({"expired": 2}),
        json.dumps(["id_number"]), json.dumps(["phone"]), 0, 200, 3, raw(nodes),
    ]
    if variant == "lean-rowid":
        values.insert(0, (1 << 40) | seq)
    return values


def run(variant, mix, rng):
    d = tempfile.mkdtemp(prefix="lean-")
    path = os.path.join(d, "log.db")
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA synchronous = OFF")
    c.execute("PRAGMA wal_autocheckpoint = 0")
    c.execute(SCHEMAS[variant])
    for stmt in INDEXES:
        c.execute(stmt)
    width = len(row(variant, mix, rng, 1, 0))
    insert = "INSERT INTO entries VALUES (%s)" % ",".join("?" * width)
    seq, t = 0, 1_790_000_000_000
    c.execute("BEGIN")
    for _ in range(PRELOAD):
        seq, t = seq + 1, t + 1
        c.execute(insert, row(variant, mix, rng, seq, t))
    c.execute("COMMIT")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    batches = []
    for _ in range(BATCHES):
        b = []
        for _ in range(BATCH):
            seq, t = seq + 1, t + 1
            b.append(row(variant, mix, rng, seq, t))
        batches.append(b)
    t0 = time.process_time()
    for b in batches:
        c.execute("BEGIN")
        c.executemany(insert, b)
        c.execute("COMMIT")
    cpu = time.process_time() - t0
    frames = os.path.getsize(path + "-wal") / (4096 + 24) / BATCHES
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = os.path.getsize(path) / seq
    c.close()
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    os.rmdir(d)
    return frames, cpu / (BATCHES * BATCH) * 1e6, size


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"sqlite {sqlite3.sqlite_version}; {PRELOAD} rows, then {BATCHES} commits of {BATCH}; "
          f"medians of {rounds} rounds (variants alternate)")
    print("| values | schema | WAL frames per commit | SQLite CPU µs per entry | bytes per entry |")
    print("|---|---|---:|---:|---:|")
    for mix in ("bench", "spread"):
        got = {v: [] for v in SCHEMAS}
        for r in range(rounds):
            for v in SCHEMAS:
                got[v].append(run(v, mix, random.Random(r)))
        for v, runs in got.items():
            med = [statistics.median(x[i] for x in runs) for i in range(3)]
            print(f"| {mix} | {v} | {med[0]:.1f} | {med[1]:.1f} | {med[2]:.0f} |", flush=True)


if __name__ == "__main__":
    main()
