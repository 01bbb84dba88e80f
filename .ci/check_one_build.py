#!/usr/bin/env python3
"""One release build serves every test: the crates the shipped binary links must be the very
artifacts the tests link too. A dev-dependency (the testkit, say) that turned on one more feature
of tokio or axum would give them a second hash, and CI would compile that tree twice.

Reads two `cargo --message-format=json` streams: the binary's build and the tests' build."""
import json
import sys


def artifacts(path):
    """{(package_id, target kind, profile): (sorted filenames, features)} for every library built.
    The profile is part of the key: a crate that is both a build script's dependency (built for
    the host without optimisation) and a normal one is two artifacts in either build."""
    out = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            msg = json.loads(line)
            if msg.get("reason") != "compiler-artifact":
                continue
            kinds = msg["target"]["kind"]
            # Libraries only; a crate's own unit-test executable is a test, not a library.
            if msg["profile"]["test"] or not any(k in ("lib", "rlib", "proc-macro") for k in kinds):
                continue
            profile = json.dumps(msg["profile"], sort_keys=True)
            out[(msg["package_id"], tuple(kinds), profile)] = (sorted(msg["filenames"]), msg["features"])
    return out


def main():
    binary, tests = artifacts(sys.argv[1]), artifacts(sys.argv[2])
    if len(binary) < 100:
        sys.exit(f"only {len(binary)} libraries in the binary's build: was it read?")
    twice = [
        f"{key[0].split('#')[-1]}: {feat} for the binary, {tests[key][1]} for the tests"
        for key, (files, feat) in binary.items()
        if key in tests and tests[key][0] != files
    ]
    missing = [k[0] for k in binary if k not in tests]
    if twice:
        sys.exit("built twice, with other features for the tests:\n  " + "\n  ".join(twice))
    if missing:
        sys.exit("the tests do not link these at all (was the build read?): " + ", ".join(missing[:5]))
    print(f"one build: the tests link the binary's {len(binary)} libraries unchanged")


main()
