"""Replays the container image's dependency layer without a container engine.

There is no Docker engine here and base images cannot be pulled, so this reads the Dockerfile and
replays, stage by stage, what builds the dependency layer, on exactly the files its COPY lines
bring from the build context (filtered by .dockerignore) or from earlier stages:

- a stage is replayed from its first COPY on (the RUN lines before it install tools, which
  .ci/install provides here), and up to the real build (`deploy/build.sh site`), which .ci/test
  runs anyway;
- RUN lines run verbatim with `sh -c`, in a scratch root that stands for the stage's `/`, with
  the stage's ENV and WORKDIR, except that `cargo` is a shim that goes "far enough": every
  manifest and declared target must load and the dependency graph must resolve against
  Cargo.lock (`cargo fetch --locked`), and cargo-chef's `cook` writes its skeleton
  (`--no-build`) before that. Compiling is left to the real build.
- stages after the real build (the runtime image) copy its output, which does not exist here;
  their COPY lines are checked only once the build is reached.

Usage: check_image.py [DOCKERFILE]   (default deploy/Dockerfile; context is the repository root)
Exit 0 when every replayed step succeeds.
"""

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CARGO_SHIM = """#!/bin/sh
# cargo, as far as the image check needs it (see .ci/check_image.py). `cargo fetch --locked`
# loads every manifest with its targets (a declared target without its file fails here, as in
# a build; `cargo metadata` does not check that), resolves against Cargo.lock and downloads the
# sources: everything a build does before it compiles.
real="$CHECK_IMAGE_REAL_CARGO"
target=""
prev=""
for arg in "$@"; do
  case "$prev" in --target) target="--target $arg" ;; esac
  case "$arg" in --target=*) target="--target ${arg#--target=}" ;; esac
  prev="$arg"
done
if [ "$1" = chef ] && [ "$2" = cook ]; then
  "$real" "$@" --no-build || exit $?
  exec "$real" fetch --locked $target
fi
if [ "$1" = build ]; then
  exec "$real" fetch --locked $target
fi
exec "$real" "$@"
"""


def instructions(text):
    """(keyword, argument) pairs, with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, arg = current.partition(" ")
        out.append((keyword.upper(), arg.strip()))
        current = ""
    return out


def ignore_patterns(context):
    path = context / ".dockerignore"
    if not path.exists():
        return []
    lines = [l.strip() for l in path.read_text().splitlines()]
    return [l for l in lines if l and not l.startswith("#")]


def _pattern_regex(pattern):
    pattern = pattern.strip("/")
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        else:
            c = pattern[i]
            out += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
            i += 1
    return re.compile(out + "$")


def ignored(rel, patterns):
    """Docker's rule: the last matching pattern wins; a pattern also matches what is under it."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for raw in patterns:
        negate = raw.startswith("!")
        regex = _pattern_regex(raw[1:] if negate else raw)
        if any(regex.match(p) for p in prefixes):
            result = not negate
    return result


def context_files(context, patterns):
    for dirpath, dirnames, filenames in os.walk(context):
        rel_dir = os.path.relpath(dirpath, context)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = [d for d in dirnames if not ignored(rel_dir + d, patterns)]
        for name in filenames:
            rel = rel_dir + name
            if not ignored(rel, patterns):
                yield rel


def copy_into(sources, dest, stage_root, workdir):
    """COPY semantics for files and directories: a dest ending in / (or several sources) is a
    directory; a directory source copies its contents."""
    target = Path(stage_root, (dest if dest.startswith("/") else str(Path(workdir, dest))).lstrip("/"))
    as_dir = dest.endswith("/") or dest in (".", "./") or len(sources) > 1
    for src in sources:
        if src.is_dir():
            shutil.copytree(src, target, dirs_exist_ok=True, symlinks=True)
        else:
            out = target / src.name if as_dir else target
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out)


def replay(dockerfile, context):
    patterns = ignore_patterns(context)
    # The build context as the engine would send it.
    scratch = Path(tempfile.mkdtemp(prefix="check-image-"))
    ctx = scratch / "context"
    for rel in context_files(context, patterns):
        out = ctx / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(context / rel, out, follow_symlinks=False)

    shim_dir = scratch / "bin"
    shim_dir.mkdir()
    (shim_dir / "cargo").write_text(CARGO_SHIM)
    (shim_dir / "cargo").chmod(0o755)
    real_cargo = shutil.which("cargo")
    if real_cargo is None:
        print("FAIL cargo is not on PATH")
        return False

    stages = {}  # name -> (root, env, workdir)
    stages_done = {}  # name -> replay stopped at the real build
    current = None
    replaying = done = False
    ok = True
    steps = 0
    for keyword, arg in instructions(dockerfile.read_text()):
        if keyword == "FROM":
            words = arg.split()
            base = words[0]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else f"stage{len(stages)}"
            root = scratch / "stages" / name
            if base in stages:
                parent_root, env, workdir = stages[base]
                stages_done[name] = stages_done.get(base, False)
                shutil.copytree(parent_root, root, symlinks=True)
                env, workdir = dict(env), workdir
            else:
                root.mkdir(parents=True)
                env, workdir = {}, "/"
            current = name
            stages[name] = (root, env, workdir)
            replaying = done = False
            continue
        root, env, workdir = stages[current]
        if keyword == "WORKDIR":
            workdir = arg if arg.startswith("/") else str(Path(workdir, arg))
            Path(root, workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif keyword == "ENV":
            for key, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)', arg):
                env[key] = value.strip('"')
        elif keyword == "COPY" and not done:
            words = shlex.split(arg)
            from_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
            words = [w for w in words if not w.startswith("--")]
            *srcs, dest = words
            if from_stage is None:
                sources = [ctx / s.rstrip("/") if s not in (".", "./") else ctx for s in srcs]
            else:
                sources = [Path(stages[from_stage][0], s.lstrip("/")) for s in srcs]
            if from_stage is not None and stages_done.get(from_stage):
                continue  # the real build's output: not made here
            missing = [str(s) for s in sources if not s.exists()]
            if missing:
                print(f"FAIL [{current}] COPY {arg}: not in the build context: {missing}")
                ok = False
                break
            if from_stage is None or replaying:
                replaying = True
                copy_into(sources, dest, root, workdir)
                steps += 1
                print(f"ok   [{current}] COPY {arg}")
        elif keyword == "RUN" and replaying and not done:
            if "cargo leptos build" in arg or "deploy/build.sh site" in arg:
                done = True  # the real build: .ci/test runs it
                stages_done[current] = True
                print(f"--   [{current}] stop before the real build (.ci/test runs it)")
            else:
                # This machine's environment (proxy and registry settings) under the stage's.
                run_env = dict(os.environ)
                run_env.update(
                    {k: v for k, v in env.items() if k not in ("PATH", "CARGO_TARGET_DIR")}
                )
                run_env.update(
                    PATH=f"{shim_dir}:{os.environ['PATH']}",
                    CARGO_TARGET_DIR=str(scratch / "target"),
                    CHECK_IMAGE_REAL_CARGO=real_cargo,
                )
                cwd = Path(root, workdir.lstrip("/"))
                cwd.mkdir(parents=True, exist_ok=True)
                result = subprocess.run(
                    ["sh", "-c", arg], cwd=cwd, env=run_env, capture_output=True, text=True
                )
                steps += 1
                if result.returncode != 0:
                    print(f"FAIL [{current}] RUN {arg}\n{result.stdout}{result.stderr}")
                    ok = False
                    break
                print(f"ok   [{current}] RUN {arg[:100]}")
        stages[current] = (root, env, workdir)
    shutil.rmtree(scratch, ignore_errors=True)
    if ok and steps == 0:
        print("FAIL nothing was replayed: no COPY from the build context")
        ok = False
    return ok


def main():
    dockerfile = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "deploy/Dockerfile"
    ok = replay(dockerfile.resolve(), ROOT)
    print(f"image dependency layer: {'1 passed, 0 failed' if ok else '0 passed, 1 failed'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
