#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from a real election record and the pinned vectors.

usage: fuzz_seeds.py RECORD.jsonl VECTORS.json ZKVOTE_BINARY OUT_DIR

Writes OUT_DIR/<target>/<name> files. Entry bytes are cut from the record's lines (never
re-serialized), so the entry and record seeds are exactly what a board serves.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

record_path, vectors_path, zkvote, out = sys.argv[1:5]
compact = lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode()


def put(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


record = open(record_path, "rb").read()
lines = record.decode().splitlines()
put("record", "demo", record)
put("record", "truncated", "\n".join(lines[: len(lines) // 2]) + "\n")
vectors = json.load(open(vectors_path))
put("manifest_toml", "vectors", vectors["manifest_toml"])
ballot_bin = bytes.fromhex(vectors["ballot_binary"])
put("ballot_binary", "vectors", ballot_bin)
put("ballot_json", "vectors", compact(vectors["ballot_json"]))

kinds_seen = {}
checkpoint = None
for n, line in enumerate(lines):
    put("record_line", f"line{n}", line)
    parsed = json.loads(line)
    if "checkpoint" in parsed:
        checkpoint = parsed["checkpoint"]
        continue
    kind = parsed["kind"]
    raw = line[line.index(',"entry":') + len(',"entry":') : -1]
    entry = json.loads(raw)
    kinds_seen[kind] = kinds_seen.get(kind, 0) + 1
    if kinds_seen[kind] > 3:
        continue
    put("entry", f"{kind}{kinds_seen[kind]}", raw)
    if kind == "manifest":
        put("manifest_json", "demo", compact(entry["manifest"]))
        create = {"manifest": entry["manifest"]}
        if "groth16_vk" in entry:  # version 1: the keys come with the manifest
            create.update(groth16_vk=entry["groth16_vk"], proving_key="AAAA")
        put("request_bodies", "create", b"\x00" + compact(create))
    elif kind == "setup-contribution":
        body = {k: v for k, v in entry.items() if k != "kind"}
        put("request_bodies", f"setup{kinds_seen[kind]}", b"\x07" + compact(body))
    elif kind == "registration":
        put("request_bodies", f"register{kinds_seen[kind]}", b"\x02" + compact({"code": "00" * 16, "commitment": entry["commitment"]}))
    elif kind == "dealing":
        put("request_bodies", f"dealing{kinds_seen[kind]}", b"\x03" + compact(entry["dealing"]))
    elif kind == "partial-decryption":
        put("request_bodies", f"partial{kinds_seen[kind]}", b"\x05" + compact(entry["partial"]))
    elif kind == "result":
        put("request_bodies", "result", b"\x06" + compact({"counts": entry["counts"]}))
    elif kind == "ballot":
        ballot = entry["ballot"]
        put("complete_ballot_json", f"demo{kinds_seen[kind]}", compact(ballot))
        put("ballot_json", f"demo{kinds_seen[kind]}", compact(ballot["ballot"]))
        put("request_bodies", f"ballot{kinds_seen[kind]}", b"\x08" + compact(ballot))
        proof = bytes.fromhex(ballot["eligibility_proof"])
        put("complete_ballot_binary", f"vectors{kinds_seen[kind]}", ballot_bin + proof)
put("request_bodies", "codes", b"\x01" + compact({"count": 5}))
put("request_headers", "form", "1700000000\n" + "ab" * 16 + "\n" + "cd" * 64 + "\n{}")
put("roll", "three", bytes(range(1, 33)) + bytes(31) + b"\x01" + bytes(32))

put("checkpoint", "demo", checkpoint)
manifest_entry = lines[0][lines[0].index(',"entry":') + len(',"entry":') : -1].encode()
receipt = {
    "index": 0,
    "leaf_hash": hashlib.sha256(b"\x00" + manifest_entry).hexdigest(),
    "checkpoint": checkpoint,
    "inclusion_proof": [],
}
put("receipt", "demo", compact(receipt))
put("receipt_file", "demo", compact({"board": "http://127.0.0.1:8080", "election_id": "07" * 32, "tracker": "00" * 32, "receipt": receipt}))

with tempfile.TemporaryDirectory() as tmp:
    cred = os.path.join(tmp, "voter.cred")
    subprocess.run([zkvote, "voter", "keygen", "--credential", cred], check=True, capture_output=True)
    put("credential_file", "keygen", open(cred, "rb").read())
    key = os.path.join(tmp, "trustee.key")
    subprocess.run([zkvote, "trustee", "keygen", "--index", "1", "--name", "T", "--key", key], check=True, capture_output=True)
    put("trustee_key_file", "keygen", open(key, "rb").read())
put("share_file", "skeleton", compact({"version": 1, "election_id": "07" * 32, "index": 1, "secret": "00" * 32, "outcome": {}}))
