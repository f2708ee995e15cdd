#!/usr/bin/env python3
"""Builds and changes a real TUF repository with python-tuf's Metadata API, for tests/tuf.rs.

The repository is laid out as Sigstore's is (consistent snapshots; metadata at the root of the
served directory, targets under targets/ with their sha256 prefixed), with one target,
trusted_root.json. Keys (ed25519) live in STATE/keys.json, outside the served STATE/repo.

    tuf_repo.py STATE init --target FILE            root v1, targets, snapshot, timestamp
    tuf_repo.py STATE publish --target FILE         a new target: targets, snapshot, timestamp
    tuf_repo.py STATE timestamp --expires-in SECS   a new timestamp only (negative: expired)
    tuf_repo.py STATE rotate-root [--unsigned-by-old]
                                                    new root and timestamp keys, root v+1 signed
                                                    by the old and new root keys (or the new only)

Every command prints nothing on success and exits non-zero with a traceback on failure.
"""

import argparse
import hashlib
import json
import os
import sys
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

ROLES = ("root", "targets", "snapshot", "timestamp")
TARGET = "trusted_root.json"
DAY = timedelta(days=1)


def now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def new_signer():
    signer = CryptoSigner.generate_ed25519()
    pem = signer.private_bytes
    return {"public": signer.public_key.to_dict(), "keyid": signer.public_key.keyid,
            "private": pem.decode()}


def signer_of(entry):
    public = SSlibKey.from_dict(entry["keyid"], dict(entry["public"]))
    return CryptoSigner(load_pem_private_key(entry["private"].encode(), None), public)


class Repo:
    def __init__(self, state):
        self.state = state
        self.dir = os.path.join(state, "repo")
        self.keys_file = os.path.join(state, "keys.json")

    def load_keys(self):
        with open(self.keys_file) as f:
            return json.load(f)

    def save_keys(self, keys):
        with open(self.keys_file, "w") as f:
            json.dump(keys, f)

    def write(self, md, name):
        md.to_file(os.path.join(self.dir, name), serializer=JSONSerializer(compact=False))

    def read(self, name):
        return Metadata.from_file(os.path.join(self.dir, name))

    def current(self):
        """The repository's state: versions of root, targets and snapshot, from timestamp.json."""
        with open(os.path.join(self.state, "state.json")) as f:
            return json.load(f)

    def save_current(self, state):
        with open(os.path.join(self.state, "state.json"), "w") as f:
            json.dump(state, f)

    def publish_target(self, target_path, keys, state):
        with open(target_path, "rb") as f:
            data = f.read()
        digest = hashlib.sha256(data).hexdigest()
        os.makedirs(os.path.join(self.dir, "targets"), exist_ok=True)
        with open(os.path.join(self.dir, "targets", f"{digest}.{TARGET}"), "wb") as f:
            f.write(data)
        targets = Metadata(Targets(version=state["targets"] + 1, expires=now() + 30 * DAY))
        targets.signed.targets[TARGET] = TargetFile(len(data), {"sha256": digest}, TARGET)
        for k in keys["targets"]:
            targets.sign(signer_of(k), append=True)
        state["targets"] = targets.signed.version
        self.write(targets, f"{state['targets']}.targets.json")
        self.publish_snapshot(keys, state)

    def publish_snapshot(self, keys, state, timestamp_expires_in=None):
        snapshot = Metadata(Snapshot(version=state["snapshot"] + 1, expires=now() + 30 * DAY))
        snapshot.signed.meta = {"targets.json": MetaFile(version=state["targets"])}
        for k in keys["snapshot"]:
            snapshot.sign(signer_of(k), append=True)
        state["snapshot"] = snapshot.signed.version
        self.write(snapshot, f"{state['snapshot']}.snapshot.json")
        self.publish_timestamp(keys, state, timestamp_expires_in)

    def publish_timestamp(self, keys, state, expires_in=None):
        expires = now() + (timedelta(seconds=expires_in) if expires_in is not None else DAY)
        timestamp = Metadata(Timestamp(version=state["timestamp"] + 1, expires=expires))
        timestamp.signed.snapshot_meta = MetaFile(version=state["snapshot"])
        for k in keys["timestamp"]:
            timestamp.sign(signer_of(k), append=True)
        state["timestamp"] = timestamp.signed.version
        self.write(timestamp, "timestamp.json")
        self.save_current(state)

    def write_root(self, root_md, signers):
        root_md.signatures.clear()
        for s in signers:
            root_md.sign(s, append=True)
        self.write(root_md, f"{root_md.signed.version}.root.json")
        self.write(root_md, "root.json")


def role_keys(root, keys, role):
    for k in keys[role]:
        root.add_key(SSlibKey.from_dict(k["keyid"], dict(k["public"])), role)


def init(repo, args):
    os.makedirs(repo.dir, exist_ok=True)
    keys = {role: [new_signer()] for role in ROLES}
    repo.save_keys(keys)
    root = Metadata(Root(expires=now() + 365 * DAY, consistent_snapshot=True))
    for role in ROLES:
        role_keys(root.signed, keys, role)
    repo.write_root(root, [signer_of(k) for k in keys["root"]])
    state = {"targets": 0, "snapshot": 0, "timestamp": 0}
    repo.publish_target(args.target, keys, state)


def publish(repo, args):
    repo.publish_target(args.target, repo.load_keys(), repo.current())


def timestamp(repo, args):
    repo.publish_timestamp(repo.load_keys(), repo.current(), args.expires_in)


def rotate_root(repo, args):
    keys = repo.load_keys()
    old_signers = [signer_of(k) for k in keys["root"]]
    root = repo.read("root.json")
    for role in ("root", "timestamp"):
        for k in keys[role]:
            root.signed.revoke_key(k["keyid"], role)
        keys[role] = [new_signer()]
        role_keys(root.signed, keys, role)
    root.signed.version += 1
    new_signers = [signer_of(k) for k in keys["root"]]
    repo.write_root(root, new_signers if args.unsigned_by_old else old_signers + new_signers)
    repo.save_keys(keys)
    # The client forgets its timestamp when the timestamp keys rotate: publish a fresh one.
    repo.publish_snapshot(keys, repo.current())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("init")
    p.add_argument("--target", required=True)
    p = sub.add_parser("publish")
    p.add_argument("--target", required=True)
    p = sub.add_parser("timestamp")
    p.add_argument("--expires-in", type=int, required=True)
    p = sub.add_parser("rotate-root")
    p.add_argument("--unsigned-by-old", action="store_true")
    args = parser.parse_args()
    repo = Repo(args.state)
    {"init": init, "publish": publish, "timestamp": timestamp,
     "rotate-root": rotate_root}[args.command](repo, args)


if __name__ == "__main__":
    sys.exit(main())
