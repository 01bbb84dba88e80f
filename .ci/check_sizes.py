#!/usr/bin/env python3
"""Every Rust source file (the app, the server, its tests and tools) stays under 400 lines: a
file that grows past it is split into modules named for what they hold (README: House style)."""
import pathlib
import sys

LIMIT = 400
root = pathlib.Path(__file__).resolve().parent.parent
too_long = []
for path in sorted(root.glob("**/*.rs")):
    if any(part in ("target", "node_modules", ".git") for part in path.parts):
        continue
    lines = path.read_text(encoding="utf-8").count("\n")
    if lines >= LIMIT:
        too_long.append(f"{path.relative_to(root)}: {lines} lines")
if too_long:
    print(f"files of {LIMIT} lines or more:\n  " + "\n  ".join(too_long))
    sys.exit(1)
print(f"ok   every Rust source file under {LIMIT} lines")
