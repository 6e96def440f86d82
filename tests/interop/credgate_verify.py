#!/usr/bin/python3
"""Independent verifier for credgate inquiry-log proofs.

Written from the public specifications only: C2SP signed-note, tlog-checkpoint,
tlog-cosignature (Ed25519 cosignature/v1) and RFC 9162 section 2.1 (Merkle
tree hashes, inclusion and consistency proof verification).

  credgate_verify.py bundle FILE --log-key VKEY [--witness-key VKEY ...]
  credgate_verify.py checkpoint FILE --log-key VKEY [--witness-key VKEY ...]
  credgate_verify.py consistency --old-size N --old-root B64 --new-size M \
      --new-root B64 [--proof B64,B64,...]

Exit status: 0 valid, 1 invalid (one line "invalid: <why>" on stdout),
2 could not run (bad arguments, unreadable file).
"""
import argparse
import base64
import binascii
import hashlib
import json
import re
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIG_ED25519, SIG_COSIG_V1 = 0x01, 0x04
MAX_SIGNATURES = 100
EMPTY_ROOT = hashlib.sha256(b"").digest()
ENTRY_TAG = b"credgate-audit-entry-v1\x00"


class Invalid(Exception):
    """The input was read but does not verify."""


class Usage(Exception):
    """The verifier cannot run (bad argument, unreadable file)."""


def b64_strict(s, what, length=None):
    """Standard base64 (RFC 4648 section 4), canonical form only."""
    if not isinstance(s, str):
        raise Invalid(f"{what}: not a string")
    try:
        raw = base64.b64decode(s.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise Invalid(f"{what}: not valid base64") from None
    if base64.b64encode(raw).decode() != s:
        raise Invalid(f"{what}: non-canonical base64")
    if length is not None and len(raw) != length:
        raise Invalid(f"{what}: {len(raw)} bytes, expected {length}")
    return raw


# ---------------------------------------------------------------- RFC 9162 --

def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        raise Invalid(f"leaf index {index} not below tree size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise Invalid("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Invalid("inclusion proof too short")
    if r != root:
        raise Invalid("inclusion proof does not lead to the checkpoint root")


def verify_consistency(first, second, first_hash, second_hash, proof):
    """RFC 9162 section 2.1.4.2, plus the trivial cases it leaves implicit."""
    if not 0 <= first <= second:
        raise Invalid(f"old size {first} larger than new size {second}")
    if first == 0 or first == second:
        if proof:
            raise Invalid("consistency proof must be empty for this size pair")
        if first == 0 and first_hash != EMPTY_ROOT:
            raise Invalid("old root is not the empty-tree hash")
        if first == second and first_hash != second_hash:
            raise Invalid("equal sizes but different roots")
        return
    path = list(proof)
    if not path:
        raise Invalid("consistency proof is empty")
    if first & (first - 1) == 0:  # exact power of 2
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Invalid("consistency proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Invalid("consistency proof too short")
    if fr != first_hash:
        raise Invalid("consistency proof does not lead to the old root")
    if sr != second_hash:
        raise Invalid("consistency proof does not lead to the new root")


# ------------------------------------------------------------- signed note --

def key_id(name, sig_type, pubkey):
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + pubkey).digest()[:4]


def valid_key_name(name):
    return name != "" and "+" not in name and not any(c.isspace() for c in name)


def parse_vkey(vkey, want_type):
    """<name>+<hex key id>+<base64(type || public key)>; raises Usage."""
    parts = vkey.split("+", 2)  # names have no '+', but base64 may
    if len(parts) != 3 or not valid_key_name(parts[0]):
        raise Usage(f"malformed vkey {vkey!r}")
    name, hex_id, b64 = parts
    try:
        raw = b64_strict(b64, "vkey")
    except Invalid as e:
        raise Usage(f"malformed vkey {vkey!r}: {e}") from None
    if len(raw) != 33 or raw[0] != want_type:
        raise Usage(f"vkey {vkey!r} is not an Ed25519 key of type 0x{want_type:02x}")
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id) or bytes.fromhex(hex_id) != key_id(name, want_type, raw[1:]):
        raise Usage(f"vkey {vkey!r}: key id does not match name and key")
    return {"name": name, "id": bytes.fromhex(hex_id), "type": want_type,
            "key": Ed25519PublicKey.from_public_bytes(raw[1:])}


def split_note(note):
    """Returns (text, [(name, raw signature bytes)]) per c2sp.org/signed-note."""
    if not isinstance(note, str):
        raise Invalid("note is not a string")
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise Invalid("note contains control characters")
    if not note.endswith("\n"):
        raise Invalid("note does not end in a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise Invalid("note has no blank line before the signatures")
    text, sig_block = note[:cut + 1], note[cut + 2:]
    lines = sig_block[:-1].split("\n") if sig_block else []
    if not lines:
        raise Invalid("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise Invalid("note has too many signature lines")
    sigs = []
    for line in lines:
        m = re.fullmatch(r"\u2014 ([^ ]+) ([^ ]+)", line)
        if not m or not valid_key_name(m.group(1)):
            raise Invalid(f"malformed signature line {line!r}")
        raw = b64_strict(m.group(2), f"signature of {m.group(1)}")
        if len(raw) < 5:
            raise Invalid(f"signature of {m.group(1)} too short")
        sigs.append((m.group(1), raw))
    return text, sigs


def check_signature(vk, text, raw):
    """Verifies one signature line already matched to vkey vk by name and id."""
    body = raw[4:]
    if vk["type"] == SIG_ED25519:
        if len(body) != 64:
            raise Invalid(f"signature by {vk['name']}: wrong length")
        msg, sig = text.encode(), body
    else:  # cosignature/v1: u64 timestamp || 64-byte Ed25519 signature
        if len(body) != 72:
            raise Invalid(f"cosignature by {vk['name']}: wrong length")
        (ts,) = struct.unpack(">Q", body[:8])
        if ts > 2**63 - 1:
            raise Invalid(f"cosignature by {vk['name']}: timestamp out of range")
        msg, sig = f"cosignature/v1\ntime {ts}\n{text}".encode(), body[8:]
    try:
        vk["key"].verify(sig, msg)
    except InvalidSignature:
        raise Invalid(f"signature by {vk['name']} does not verify") from None


def verify_note(note, log_key, witness_keys):
    """Checks the note's signatures; every given key must have signed. Returns the text."""
    text, sigs = split_note(note)
    known = {(k["name"], k["id"]): k for k in [log_key] + list(witness_keys)}
    seen = set()
    for name, raw in sigs:
        vk = known.get((name, raw[:4]))
        if vk is None:
            continue  # unknown key: ignored, as the spec requires
        if (name, raw[:4]) in seen:
            raise Invalid(f"duplicate signature by {name}")
        seen.add((name, raw[:4]))
        check_signature(vk, text, raw)
    for k in known.values():
        if (k["name"], k["id"]) not in seen:
            role = "log signature" if k is log_key else "cosignature"
            raise Invalid(f"no {role} by {k['name']}+{k['id'].hex()}")
    return text


def parse_checkpoint(text):
    """c2sp.org/tlog-checkpoint note text -> (origin, size, root)."""
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(line == "" for line in lines):
        raise Invalid("checkpoint needs origin, size and root lines, all non-empty")
    if not re.fullmatch(r"0|[1-9][0-9]*", lines[1], flags=re.ASCII) or int(lines[1]) >= 2**64:
        raise Invalid(f"checkpoint size line {lines[1]!r} is not a decimal u64")
    size, root = int(lines[1]), b64_strict(lines[2], "checkpoint root", 32)
    if size == 0 and root != EMPTY_ROOT:
        raise Invalid("empty checkpoint with a root other than the empty-tree hash")
    return lines[0], size, root


# ------------------------------------------------------------ audit entry --

STR, OSTR, LIST, MAP = "str", "opt str", "list", "map"
ENTRY_FIELDS = [  # (name, kind) in canonical order
    ("time_ms", "i64"), ("inquiry_id", STR), ("plane", STR), ("officer_id", STR),
    ("officer_name", STR), ("unit", STR), ("cert_fingerprint", STR), ("purpose", OSTR),
    ("case", OSTR), ("consent_id", OSTR), ("method", STR), ("path", STR),
    ("subject_id", OSTR), ("subject_type", OSTR), ("items_requested", LIST),
    ("decision", STR), ("reason", STR), ("rule", STR), ("statutory_basis", OSTR),
    ("status", "u16"), ("records_returned", "u32"), ("records_suppressed", MAP),
    ("removed_keys", LIST), ("masked_keys", LIST), ("objection_labeled", "u32"),
    ("upstream_status", "opt u16"), ("latency_ms", "u64"),
]
INTS = {"i64": (">q", -2**63, 2**63 - 1), "u64": (">Q", 0, 2**64 - 1),
        "u32": (">I", 0, 2**32 - 1), "u16": (">H", 0, 2**16 - 1)}


def enc_int(v, kind, what):
    fmt, lo, hi = INTS[kind]
    if type(v) is not int or not lo <= v <= hi:
        raise Invalid(f"{what}: not a {kind}")
    return struct.pack(fmt, v)


def enc_str(v, what):
    if not isinstance(v, str):
        raise Invalid(f"{what}: not a string")
    try:
        b = v.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{what}: not encodable as UTF-8") from None
    return enc_int(len(b), "u32", what) + b


def enc_field(v, kind, what):
    if kind.startswith("opt "):
        return b"\x00" if v is None else b"\x01" + enc_field(v, kind[4:], what)
    if kind == STR:
        return enc_str(v, what)
    if kind == LIST:
        if not isinstance(v, list):
            raise Invalid(f"{what}: not a list")
        return enc_int(len(v), "u32", what) + b"".join(enc_str(x, what) for x in v)
    if kind == MAP:
        if not isinstance(v, dict):
            raise Invalid(f"{what}: not a map")
        items = sorted((enc_str(k, what)[4:], enc_str(k, what) + enc_int(x, "u32", what))
                       for k, x in v.items())  # ascending by the keys' UTF-8 bytes
        return enc_int(len(items), "u32", what) + b"".join(pair for _, pair in items)
    return enc_int(v, kind, what)


def canonical_entry_bytes(chain_id, seq, inner):
    if not isinstance(inner, dict):
        raise Invalid("entry.entry is not an object")
    extra = set(inner) - {name for name, _ in ENTRY_FIELDS}
    if extra:
        raise Invalid(f"entry has unknown fields: {sorted(extra)}")
    out = [ENTRY_TAG, enc_str(chain_id, "chain_id"), enc_int(seq, "u64", "seq")]
    for name, kind in ENTRY_FIELDS:
        if name not in inner and not kind.startswith("opt "):
            raise Invalid(f"entry field {name} missing")
        out.append(enc_field(inner.get(name), kind, f"entry.{name}"))
    return b"".join(out)


# ----------------------------------------------------------------- bundle --

def _no_dup_object(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise Invalid(f"duplicate JSON key {k!r}")
        obj[k] = v
    return obj


def _reject_constant(name):
    raise Invalid(f"non-standard JSON constant {name}")


def verify_bundle(raw_json, log_key, witness_keys):
    try:
        b = json.loads(raw_json, object_pairs_hook=_no_dup_object, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise Invalid(f"bundle is not valid JSON: {e}") from None
    top = {"format", "version", "chain_id", "leaf_index", "tree_size", "entry",
           "inclusion_proof", "checkpoint"}
    if not isinstance(b, dict) or set(b) != top:
        raise Invalid(f"bundle must be an object with exactly the keys {sorted(top)}")
    if b["format"] != "credgate-inclusion-proof" or type(b["version"]) is not int or b["version"] != 1:
        raise Invalid("unsupported format or version")
    chain_id, e = b["chain_id"], b["entry"]
    if not isinstance(chain_id, str) or not re.fullmatch(r"[0-9a-f]{32}", chain_id):
        raise Invalid("chain_id is not 32 lowercase hex characters")
    if not isinstance(e, dict) or set(e) != {"chain_id", "seq", "prev_hash", "hash", "entry"}:
        raise Invalid("entry must have exactly chain_id, seq, prev_hash, hash, entry")
    if e["chain_id"] != chain_id:
        raise Invalid("entry.chain_id differs from chain_id")
    seq = e["seq"]
    enc_int(seq, "u64", "entry.seq")
    index, size = b["leaf_index"], b["tree_size"]
    enc_int(index, "u64", "leaf_index")
    enc_int(size, "u64", "tree_size")
    if index != seq - 1:
        raise Invalid(f"leaf_index {index} is not entry.seq - 1 ({seq - 1})")
    for k in ("prev_hash", "hash"):
        if not isinstance(e[k], str) or not re.fullmatch(r"[0-9a-f]{64}", e[k]):
            raise Invalid(f"entry.{k} is not 64 lowercase hex characters")
    data = canonical_entry_bytes(chain_id, seq, e["entry"])
    if hashlib.sha256(bytes.fromhex(e["prev_hash"]) + data).hexdigest() != e["hash"]:
        raise Invalid("entry.hash does not match SHA-256(prev_hash || canonical entry)")
    text = verify_note(b["checkpoint"], log_key, witness_keys)
    origin, cp_size, root = parse_checkpoint(text)
    if size != cp_size:
        raise Invalid(f"tree_size {size} differs from checkpoint size {cp_size}")
    if not index < size:
        raise Invalid(f"leaf_index {index} not below tree_size {size}")
    proof = b["inclusion_proof"]
    if not isinstance(proof, list):
        raise Invalid("inclusion_proof is not a list")
    proof = [b64_strict(p, f"inclusion_proof[{i}]", 32) for i, p in enumerate(proof)]
    verify_inclusion(index, size, leaf_hash(data), proof, root)
    return (f"entry seq {seq} of chain {chain_id} is leaf {index} of {origin} at size {size}; "
            f"log signature and {len(witness_keys)} cosignature(s) verified")


# -------------------------------------------------------------------- CLI --

def _size(s):
    if not re.fullmatch(r"0|[1-9][0-9]*", s, flags=re.ASCII) or int(s) >= 2**64:
        raise argparse.ArgumentTypeError(f"not a tree size: {s!r}")
    return int(s)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise Usage(f"cannot read {path}: {e.strerror}") from None


def run(args):
    if args.cmd == "consistency":
        old = b64_strict(args.old_root, "old root", 32)
        new = b64_strict(args.new_root, "new root", 32)
        items = args.proof.split(",") if args.proof else []
        proof = [b64_strict(p, f"proof[{i}]", 32) for i, p in enumerate(items)]
        verify_consistency(args.old_size, args.new_size, old, new, proof)
        return f"tree of size {args.new_size} is consistent with size {args.old_size}"
    log_key = parse_vkey(args.log_key, SIG_ED25519)
    witnesses = [parse_vkey(w, SIG_COSIG_V1) for w in args.witness_key]
    data = _read(args.file)
    if args.cmd == "bundle":
        return verify_bundle(data, log_key, witnesses)
    try:
        note = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("checkpoint is not valid UTF-8") from None
    origin, size, root = parse_checkpoint(verify_note(note, log_key, witnesses))
    return (f"checkpoint {origin} size {size} root {base64.b64encode(root).decode()}; "
            f"log signature and {len(witnesses)} cosignature(s) verified")


def main(argv=None):
    p = argparse.ArgumentParser(description="Verify credgate inquiry-log proofs.")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("bundle", "checkpoint"):
        s = sub.add_parser(name)
        s.add_argument("file")
        s.add_argument("--log-key", required=True, metavar="VKEY")
        s.add_argument("--witness-key", action="append", default=[], metavar="VKEY")
    c = sub.add_parser("consistency")
    c.add_argument("--old-size", type=_size, required=True)
    c.add_argument("--old-root", required=True)
    c.add_argument("--new-size", type=_size, required=True)
    c.add_argument("--new-root", required=True)
    c.add_argument("--proof", default="", help="comma-separated base64 hashes")
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    try:
        print("valid: " + run(args))
        return 0
    except Usage as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Invalid as e:
        print(f"invalid: {e}")
        return 1
    except Exception as e:  # never a traceback on malformed input
        print(f"invalid: unexpected {type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
