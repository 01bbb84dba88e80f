#!/bin/sh
# The release build, in one place for .ci/test, .ci/serve and the container image.
#
# The wasm is first-load weight, so it is built on a pinned nightly that recompiles the standard
# library for size: `panic=immediate-abort` drops the panic machinery and the formatting code
# only panic messages used, `location-detail=none` the file paths panics would print, and
# `fmt-debug=none` every `Debug` implementation (the page shows no `Debug` text: a reply it
# cannot decode is shown as a transport error, whatever the decoder said). That is 21.7 KB less
# brotli than stable with `panic = "abort"` (214.6 -> 193.0 KB). A panic in the page still stops
# it, without a message (there was none to read in production anyway). The server and the tests
# stay on stable. Not std's `optimize_for_size`: 0.9 KB, for slower code in std.
#
# Usage: deploy/build.sh [site]   the release build: wasm, CSS, assets, server, precompression
#        deploy/build.sh toolchain  install the wasm toolchain when it is missing
#        deploy/build.sh deps       the image's dependency layer (cargo-chef's `cook`)
set -eu

: "${WASM_TOOLCHAIN:=nightly-2026-05-20}"

# Only the wasm build sees these: with --target set, RUSTFLAGS skips build scripts and macros.
wasm_env() {
  RUSTUP_TOOLCHAIN="$WASM_TOOLCHAIN" \
  CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
  RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
    "$@"
}

case "${1:-site}" in
  toolchain)
    if ! rustup run "$WASM_TOOLCHAIN" rustc --version >/dev/null 2>&1 ||
       ! rustup component list --installed --toolchain "$WASM_TOOLCHAIN" | grep -q '^rust-src'; then
      echo "==> rustup toolchain install $WASM_TOOLCHAIN (rust-src, for the wasm build)"
      rustup toolchain install "$WASM_TOOLCHAIN" --profile minimal --component rust-src
    fi
    ;;
  deps)
    cargo chef cook --release --locked --recipe-path recipe.json -p server
    wasm_env cargo chef cook --profile wasm-release --locked --recipe-path recipe.json -p app \
      --target wasm32-unknown-unknown --no-default-features --features hydrate
    ;;
  site)
    wasm_env cargo leptos build --release --frontend-only
    cargo leptos build --release --server-only
    sh "$(dirname "$0")/precompress.sh" "${LEPTOS_SITE_ROOT:-target/site}"
    ;;
  *)
    echo "usage: deploy/build.sh [site|toolchain|deps]" >&2
    exit 2
    ;;
esac
