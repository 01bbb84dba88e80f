"""The README as a CommonMark reader sees it (markdown-it-py, a CommonMark-compliant parser):
every code fence is closed by a fence of its own, and every runbook step ("**N. Title.**") is
text, numbered 0, 1, 2… without a gap, none swallowed by a code block. A closing fence with words
after it is no closing fence in CommonMark: it once turned steps 5 and 6 into code.

Usage: check_readme.py [README]
"""

import re
import sys
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
RUNBOOK = "Runbook: from an empty project to a chat behind IAP"
STEP = re.compile(r"^\*\*(\d+)\. ")
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}")


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "README.md"
    source = path.read_text()
    lines = source.splitlines()
    tokens = MarkdownIt("commonmark").parse(source)

    # A fence that runs to the end of the document was never closed.
    unclosed = []
    for t in tokens:
        if t.type == "fence":
            last = lines[t.map[1] - 1].strip() if t.map[1] - 1 < len(lines) else ""
            if t.map[1] - t.map[0] < 2 or not re.fullmatch(re.escape(t.markup[0]) + "{%d,}" % len(t.markup), last):
                unclosed.append(t.map[0] + 1)
    check("every code fence is closed by a fence line of its own", not unclosed, f"opened on lines {unclosed}")

    # The runbook's section: from its heading to the next heading of the same or a higher level.
    start = next(
        (i for i, t in enumerate(tokens) if t.type == "inline" and t.content == RUNBOOK and tokens[i - 1].type == "heading_open"),
        None,
    )
    check("the README has the runbook section", start is not None, RUNBOOK)
    if start is None:
        return finish()
    level = tokens[start - 1].tag
    end = next(
        (i for i in range(start + 1, len(tokens)) if tokens[i].type == "heading_open" and tokens[i].tag <= level),
        len(tokens),
    )
    section = tokens[start:end]
    as_text = [int(m.group(1)) for t in section if t.type == "inline" for m in [STEP.match(t.content)] if m]
    check("the runbook's steps are numbered from 0 without a gap or repeat", as_text == list(range(len(as_text))) and len(as_text) >= 8, as_text)
    in_code = [
        line.strip()[:40]
        for t in section
        if t.type in ("fence", "code_block")
        for line in t.content.splitlines()
        if STEP.match(line.strip())
    ]
    check("no runbook step is inside a code block", not in_code, in_code)
    first, last = section[0].map[0], (tokens[end].map[0] if end < len(tokens) else len(lines))
    raw = [int(m.group(1)) for line in lines[first:last] for m in [STEP.match(line)] if m]
    check("every step written in the source is a step the reader sees", raw == as_text, f"source {raw}, rendered {as_text}")
    return finish()


def finish():
    passed = sum(results)
    print(f"README checks: {passed} passed, {len(results) - passed} failed")
    sys.exit(1 if passed < len(results) else 0)


if __name__ == "__main__":
    main()
