"""Self-tests for credgate_verify.py.  Run: /usr/bin/python3 -m unittest (from this folder)."""
import base64
import contextlib
import copy
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import credgate_verify as cv  # noqa: E402

SCRIPT = os.path.join(HERE, "credgate_verify.py")
b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
sha = lambda b: hashlib.sha256(b).digest()  # noqa: E731


# ---- naive RFC 9162 section 2.1 reference, deliberately written separately --

def mth(d):
    if len(d) == 0:
        return sha(b"")
    if len(d) == 1:
        return sha(b"\x00" + d[0])
    k = 1
    while k * 2 < len(d):
        k *= 2
    return sha(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m, d):
    if len(d) == 1:
        return []
    k = 1
    while k * 2 < len(d):
        k *= 2
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def proof(m, d):
    return subproof(m, d, True) if 0 < m < len(d) else []


def ok(fn, *a):
    try:
        fn(*a)
        return True
    except cv.Invalid:
        return False


class SignedNoteExample(unittest.TestCase):
    VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    NOTE = ("This is an example message.\n\n"
            "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONnc"
            "AlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")

    def test_published_example(self):
        key = cv.parse_vkey(self.VKEY, cv.SIG_ED25519)
        self.assertEqual(cv.verify_note(self.NOTE, key, []), "This is an example message.\n")

    def test_tampered_example(self):
        key = cv.parse_vkey(self.VKEY, cv.SIG_ED25519)
        for bad in (self.NOTE.replace("example message", "example massage"),
                    self.NOTE.replace("Uw2QOkn8", "Uw2QOkn9"),   # known key, bad signature
                    self.NOTE.replace("Uw2QOkn8", "Uw2ROkn8"),   # key id changes: no known signature left
                    self.NOTE.replace("example.com/foo ", "example.com/bar "),
                    self.NOTE[:-1], self.NOTE.replace("\n\n", "\n"),
                    self.NOTE.replace("\u2014", "-"), self.NOTE.replace("example", "ex\tample", 1)):
            self.assertFalse(ok(cv.verify_note, bad, key, []), bad)

    def test_unknown_signatures_ignored(self):
        key = cv.parse_vkey(self.VKEY, cv.SIG_ED25519)
        extra = "\u2014 example.com/foo AAAAAAAA\n\u2014 other.example/k " + b64(b"\x53\x0d\x90\x3a" + bytes(64)) + "\n"
        self.assertTrue(ok(cv.verify_note, self.NOTE + extra, key, []))
        dup = self.NOTE + self.NOTE.split("\n\n")[1]
        self.assertFalse(ok(cv.verify_note, dup, key, []))

    def test_cosignature_example_framing(self):
        # c2sp.org/tlog-cosignature publishes no key for its example, so only the
        # framing can be checked: key id || u64 BE timestamp || 64-byte signature.
        note = ("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
                "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
                "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRa"
                "JNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n")
        text, sigs = cv.split_note(note)
        self.assertEqual(cv.parse_checkpoint(text)[:2], ("example.com/behind-the-sofa", 20852163))
        self.assertEqual([len(s) for _, s in sigs], [68, 76])
        self.assertEqual(struct.unpack(">Q", sigs[1][1][4:12])[0], 1679315147)

    def test_bad_vkeys(self):
        for bad in (self.VKEY.replace("530d903a", "530d903b"), self.VKEY + "+x",
                    self.VKEY.replace("Aeky", "BOky"), "example.com/foo+530d903a+AQ=="):
            with self.assertRaises(cv.Usage):
                cv.parse_vkey(bad, cv.SIG_ED25519)
        with self.assertRaises(cv.Usage):
            cv.parse_vkey(self.VKEY, cv.SIG_COSIG_V1)


class MerkleProofs(unittest.TestCase):
    LEAVES = [f"leaf {i}".encode() for i in range(20)]

    def test_inclusion_all_pairs(self):
        for n in range(1, 21):
            d = self.LEAVES[:n]
            root = mth(d)
            for i in range(n):
                lh, p = sha(b"\x00" + d[i]), path(i, d)
                self.assertTrue(ok(cv.verify_inclusion, i, n, lh, p, root), (i, n))
                self.assertFalse(ok(cv.verify_inclusion, i, n, lh, p + [root], root))
                self.assertFalse(ok(cv.verify_inclusion, i, n, sha(b"x"), p, root))
                self.assertFalse(ok(cv.verify_inclusion, n, n, lh, p, root))
                if p:
                    self.assertFalse(ok(cv.verify_inclusion, i, n, lh, p[:-1], root))
                for j in range(n):
                    if j != i:
                        self.assertFalse(ok(cv.verify_inclusion, j, n, lh, p, root), (i, j, n))
                for k in range(len(p)):
                    q = list(p)
                    q[k] = bytes([q[k][0] ^ 1]) + q[k][1:]
                    self.assertFalse(ok(cv.verify_inclusion, i, n, lh, q, root))

    def test_consistency_all_pairs(self):
        for n in range(0, 21):
            d = self.LEAVES[:n]
            new = mth(d)
            for m in range(0, n + 1):
                old, p = mth(d[:m]), proof(m, d)
                self.assertTrue(ok(cv.verify_consistency, m, n, old, new, p), (m, n))
                if m > 0:  # the empty tree is consistent with every tree
                    self.assertFalse(ok(cv.verify_consistency, m, n, old, sha(b"x"), p), (m, n))
                self.assertFalse(ok(cv.verify_consistency, m, n, old, new, p + [new]), (m, n))
                if m > 0:
                    self.assertFalse(ok(cv.verify_consistency, m, n, sha(b"x"), new, p), (m, n))
                if p:
                    self.assertFalse(ok(cv.verify_consistency, m, n, old, new, p[:-1]), (m, n))
                for k in range(len(p)):
                    q = list(p)
                    q[k] = q[k][:31] + bytes([q[k][31] ^ 1])
                    self.assertFalse(ok(cv.verify_consistency, m, n, old, new, q), (m, n, k))
                if m < n:
                    self.assertFalse(ok(cv.verify_consistency, n, m, new, old, p), (m, n))
                for m2 in range(1, n):
                    if m2 != m:
                        self.assertFalse(ok(cv.verify_consistency, m2, n, old, new, p), (m, m2, n))

    def test_consistency_cli(self):
        d = self.LEAVES[:13]
        args = ["consistency", "--old-size", "5", "--old-root", b64(mth(d[:5])),
                "--new-size", "13", "--new-root", b64(mth(d)), "--proof", ",".join(map(b64, proof(5, d)))]
        self.assertEqual(run_main(args)[0], 0)
        args[2] = "6"
        self.assertEqual(run_main(args)[0], 1)
        args[2] = "six"
        self.assertEqual(run_main(args)[0], 2)


# ---- bundles ----------------------------------------------------------------

def raw_pub(sk):
    return sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def make_vkey(name, typ, sk):
    kid = sha(name.encode() + b"\n" + bytes([typ]) + raw_pub(sk))[:4]
    return f"{name}+{kid.hex()}+{b64(bytes([typ]) + raw_pub(sk))}", kid


def canonical(chain_id, seq, e):
    """Second, independent encoding of the canonical entry bytes."""
    def s(x):
        return struct.pack(">I", len(x.encode())) + x.encode()

    def o(x):
        return b"\x00" if x is None else b"\x01" + s(x)

    def ls(xs):
        return struct.pack(">I", len(xs)) + b"".join(s(x) for x in xs)

    out = b"credgate-audit-entry-v1\x00" + s(chain_id) + struct.pack(">Q", seq)
    out += struct.pack(">q", e["time_ms"])
    for f in ("inquiry_id", "plane", "officer_id", "officer_name", "unit", "cert_fingerprint"):
        out += s(e[f])
    out += o(e.get("purpose")) + o(e.get("case")) + o(e.get("consent_id"))
    out += s(e["method"]) + s(e["path"]) + o(e.get("subject_id")) + o(e.get("subject_type"))
    out += ls(e["items_requested"]) + s(e["decision"]) + s(e["reason"]) + s(e["rule"])
    out += o(e.get("statutory_basis")) + struct.pack(">HI", e["status"], e["records_returned"])
    rs = e["records_suppressed"]
    out += struct.pack(">I", len(rs))
    for k in sorted(rs, key=lambda k: k.encode()):
        out += s(k) + struct.pack(">I", rs[k])
    out += ls(e["removed_keys"]) + ls(e["masked_keys"]) + struct.pack(">I", e["objection_labeled"])
    u = e.get("upstream_status")
    out += (b"\x00" if u is None else b"\x01" + struct.pack(">H", u)) + struct.pack(">Q", e["latency_ms"])
    return out


def sample_entry(i):
    return {
        "time_ms": 1700000000000 + i, "inquiry_id": f"inq-{i}", "plane": "query",
        "officer_id": "o-17", "officer_name": "Jörg Ærø", "unit": "traffic",
        "cert_fingerprint": "ab" * 32, "purpose": "investigation", "case": None,
        "consent_id": "c-1" if i % 2 else None, "method": "GET", "path": f"/subjects/{i}",
        "subject_id": "s-9", "subject_type": None, "items_requested": ["name", "address"],
        "decision": "allow", "reason": "ok", "rule": "r1", "statutory_basis": "§ 12",
        "status": 200, "records_returned": 3, "records_suppressed": {"b": 1, "aa": 2, "é": 0, "Z": 7},
        "removed_keys": ["ssn"], "masked_keys": [], "objection_labeled": 1,
        "upstream_status": 200 if i % 3 else None, "latency_ms": 12,
    }


def run_main(argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = cv.main(argv)
    return code, buf.getvalue()


class Bundles(unittest.TestCase):
    N, INDEX = 13, 5
    CHAIN = "0123456789abcdef0123456789abcdef"
    ORIGIN = "log.credgate.test/audit"

    @classmethod
    def setUpClass(cls):
        cls.log_sk, cls.wit_sk = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        cls.log_vkey, log_id = make_vkey(cls.ORIGIN, 0x01, cls.log_sk)
        cls.wit_vkey, wit_id = make_vkey("witness.test/w1", 0x04, cls.wit_sk)
        entries, leaves, prev = [], [], "00" * 32
        for seq in range(1, cls.N + 1):
            inner = sample_entry(seq)
            data = canonical(cls.CHAIN, seq, inner)
            h = sha(bytes.fromhex(prev) + data).hex()
            entries.append({"chain_id": cls.CHAIN, "seq": seq, "prev_hash": prev, "hash": h, "entry": inner})
            leaves.append(data)
            prev = h
        cls.entries, cls.leaves = entries, leaves
        cls.log_id, cls.wit_id = log_id, wit_id
        cls.bundle, cls.text, cls.log_sig, cls.cosig = cls.signed_bundle(leaves, cls.INDEX, entries[cls.INDEX])
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def signed_bundle(cls, leaves, index, entry):
        """A bundle for entry at leaf index, with a freshly signed and cosigned checkpoint."""
        text = f"{cls.ORIGIN}\n{len(leaves)}\n{b64(mth(leaves))}\nextension line\n"
        ts = 1700000123
        log_sig = cls.log_id + cls.log_sk.sign(text.encode())
        cosig = cls.wit_id + struct.pack(">Q", ts) + cls.wit_sk.sign(f"cosignature/v1\ntime {ts}\n{text}".encode())
        bundle = {
            "format": "credgate-inclusion-proof", "version": 1, "chain_id": cls.CHAIN,
            "leaf_index": index, "tree_size": len(leaves), "entry": entry,
            "inclusion_proof": [b64(h) for h in path(index, leaves)],
            "checkpoint": cls.note(text, log_sig, cosig),
        }
        return bundle, text, log_sig, cosig

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def note(cls, text, log_sig, cosig):
        other = "\u2014 someone.else/key " + b64(bytes(68)) + "\n"
        return (f"{text}\n\u2014 {cls.ORIGIN} {b64(log_sig)}\n{other}"
                f"\u2014 witness.test/w1 {b64(cosig)}\n")

    def check(self, bundle, raw=None, witnesses=True):
        path_ = os.path.join(self.tmp.name, "bundle.json")
        with open(path_, "wb") as f:
            f.write(raw if raw is not None else json.dumps(bundle, ensure_ascii=False).encode())
        argv = ["bundle", path_, "--log-key", self.log_vkey]
        if witnesses:
            argv += ["--witness-key", self.wit_vkey]
        code, out = run_main(argv)
        self.last_out = out
        if code == 1:
            self.assertTrue(out.startswith("invalid: ") and out.count("\n") == 1, out)
        return code

    def test_valid(self):
        self.assertEqual(canonical(self.CHAIN, 1, sample_entry(1)),
                         cv.canonical_entry_bytes(self.CHAIN, 1, sample_entry(1)))
        self.assertEqual(self.check(self.bundle), 0)
        self.assertEqual(self.check(self.bundle, witnesses=False), 0)

    def test_map_order_literal(self):
        got = cv.enc_field({"b": 1, "\u00e9": 2, "Z": 3, "aa": 4}, cv.MAP, "m")
        want = (b"\0\0\0\4" + b"\0\0\0\1Z\0\0\0\3" + b"\0\0\0\2aa\0\0\0\4" + b"\0\0\0\1b\0\0\0\1"
                + b"\0\0\0\2\xc3\xa9\0\0\0\2")
        self.assertEqual(got, want)

    def test_flip_proof_bytes(self):
        for k, h in enumerate(self.bundle["inclusion_proof"]):
            for i in range(32):
                b = copy.deepcopy(self.bundle)
                raw = bytearray(base64.b64decode(h))
                raw[i] ^= 0x01
                b["inclusion_proof"][k] = b64(bytes(raw))
                self.assertEqual(self.check(b), 1, (k, i))
        for proof_ in (self.bundle["inclusion_proof"][:-1], self.bundle["inclusion_proof"] + [b64(bytes(32))],
                       ["not base64!"], "AAAA", [b64(bytes(31))]):
            self.assertEqual(self.check(dict(self.bundle, inclusion_proof=proof_)), 1)

    def test_leaf_index(self):
        for v in (self.INDEX - 1, self.INDEX + 1, 0, self.N - 1, self.N, -1, 2**64, "5", True, None, 5.0):
            self.assertEqual(self.check(dict(self.bundle, leaf_index=v)), 1, v)
        b = copy.deepcopy(self.bundle)   # leaf index and seq moved together
        b["leaf_index"], b["entry"]["seq"] = self.INDEX + 1, self.INDEX + 2
        self.assertEqual(self.check(b), 1)
        # a correctly signed tree holding the entry at leaf 6 instead of seq - 1 = 5
        b, *_ = self.signed_bundle([b"dummy"] + self.leaves, self.INDEX + 1, self.entries[self.INDEX])
        self.assertEqual(self.check(b), 1)
        self.assertIn("is not entry.seq - 1", self.last_out)
        for v in (self.N + 1, self.N - 1, 0):
            self.assertEqual(self.check(dict(self.bundle, tree_size=v)), 1)

    def test_flip_signatures(self):
        for i in range(len(self.log_sig)):
            sig = bytearray(self.log_sig)
            sig[i] ^= 0x01
            b = dict(self.bundle, checkpoint=self.note(self.text, bytes(sig), self.cosig))
            self.assertEqual(self.check(b), 1, i)
        for i in range(len(self.cosig)):
            sig = bytearray(self.cosig)
            sig[i] ^= 0x01
            b = dict(self.bundle, checkpoint=self.note(self.text, self.log_sig, bytes(sig)))
            self.assertEqual(self.check(b), 1, i)
            if i < 4:  # unknown key id: fine when the witness is not required
                self.assertEqual(self.check(b, witnesses=False), 0, i)

    def test_checkpoint_edits(self):
        cp = self.bundle["checkpoint"]
        lines = cp.split("\n")
        for bad in (cp.replace("\nextension line\n", "\n"), cp.replace(f"\n{self.N}\n", f"\n0{self.N}\n"),
                    cp.replace(self.ORIGIN + "\n", "x" + self.ORIGIN + "\n", 1), cp[:-1], cp + "\n",
                    "\n".join(lines[:5] + lines[6:]), "\n".join(lines[:7] + lines[8:]), cp.replace("\n\n", "\n"),
                    cp.replace("\u2014", "--"), 42, None):
            self.assertEqual(self.check(dict(self.bundle, checkpoint=bad)), 1, bad)

    def test_entry_fields(self):
        def mutations(v):
            if type(v) is int:
                return [v + 1, v - 1, -v - 1, str(v), None, 2**64]
            if isinstance(v, str):
                return [v + "x", v[:-1], v.upper() if v != v.upper() else v.lower(), None, 1]
            if isinstance(v, list):
                return [v + ["x"], v[:-1] if v else [""], [1], None]
            if isinstance(v, dict):
                return [dict(v, extra=1), {k: x + 1 for k, x in v.items()}, {}, [], None]
            return ["x", "", 0]  # currently null
        inner = self.bundle["entry"]["entry"]
        for field, value in inner.items():
            for m in mutations(value):
                if m == value:
                    continue
                b = copy.deepcopy(self.bundle)
                b["entry"]["entry"][field] = m
                self.assertEqual(self.check(b), 1, (field, m))
            b = copy.deepcopy(self.bundle)
            del b["entry"]["entry"][field]
            self.assertEqual(self.check(b), 0 if value is None else 1, field)
        for field in ("prev_hash", "hash"):  # these are not in the leaf: only the linear hash catches them
            for i in range(64):
                b = copy.deepcopy(self.bundle)
                v = b["entry"][field]
                b["entry"][field] = v[:i] + ("1" if v[i] == "0" else "0") + v[i + 1:]
                self.assertEqual(self.check(b), 1, (field, i))
        for field in ("chain_id", "seq", "prev_hash", "hash"):
            for m in mutations(self.bundle["entry"][field]):
                b = copy.deepcopy(self.bundle)
                b["entry"][field] = m
                self.assertEqual(self.check(b), 1, (field, m))
        b = copy.deepcopy(self.bundle)
        b["entry"]["entry"]["new_field"] = "unsigned"
        self.assertEqual(self.check(b), 1)

    def test_malformed(self):
        for raw in (b"", b"{", b"[]", b"\xff\xfe", b"null", b'{"format": NaN}', b"[" * 100000):
            self.assertEqual(self.check(None, raw=raw), 1, raw[:10])
        good = json.dumps(self.bundle)
        self.assertEqual(self.check(None, raw=('{"version": 2, ' + good[1:]).encode()), 1)
        for k in list(self.bundle):
            b = dict(self.bundle)
            del b[k]
            self.assertEqual(self.check(b), 1, k)
        self.assertEqual(self.check(dict(self.bundle, version=2)), 1)
        self.assertEqual(self.check(dict(self.bundle, format="x")), 1)
        self.assertEqual(self.check(dict(self.bundle, chain_id="ff" * 16)), 1)
        self.assertEqual(self.check(dict(self.bundle, extra=1)), 1)

    def test_checkpoint_subcommand(self):
        path_ = os.path.join(self.tmp.name, "cp.txt")
        with open(path_, "w", encoding="utf-8") as f:
            f.write(self.bundle["checkpoint"])
        self.assertEqual(run_main(["checkpoint", path_, "--log-key", self.log_vkey,
                                   "--witness-key", self.wit_vkey])[0], 0)
        self.assertEqual(run_main(["checkpoint", path_, "--log-key", self.wit_vkey])[0], 2)
        other, _ = make_vkey("witness.test/w2", 0x04, Ed25519PrivateKey.generate())
        self.assertEqual(run_main(["checkpoint", path_, "--log-key", self.log_vkey, "--witness-key", other])[0], 1)

    def test_cli_process(self):
        path_ = os.path.join(self.tmp.name, "cli.json")
        with open(path_, "w") as f:
            json.dump(self.bundle, f)

        def cli(*args):
            r = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)
            self.assertNotIn("Traceback", r.stdout + r.stderr)
            return r.returncode, r.stdout
        self.assertEqual(cli("bundle", path_, "--log-key", self.log_vkey, "--witness-key", self.wit_vkey)[0], 0)
        b = copy.deepcopy(self.bundle)
        b["entry"]["entry"]["status"] = 201
        with open(path_, "w") as f:
            json.dump(b, f)
        code, out = cli("bundle", path_, "--log-key", self.log_vkey)
        self.assertEqual((code, out.startswith("invalid: ")), (1, True))
        self.assertEqual(cli("bundle", path_ + ".missing", "--log-key", self.log_vkey)[0], 2)
        self.assertEqual(cli("bundle", path_, "--log-key", "garbage")[0], 2)
        self.assertEqual(cli("bundle", path_)[0], 2)
        self.assertEqual(cli()[0], 2)


if __name__ == "__main__":
    unittest.main()
