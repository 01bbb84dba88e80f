#!/bin/sh
# Compresses the site's wasm, JS and CSS once, at build time, at the highest levels (brotli 11,
# gzip 9). The server sends these files as they are to browsers that accept them, which beats
# compressing on every request at the fast levels a response-time compressor has to use.
# Usage: deploy/precompress.sh SITE_ROOT
set -eu
for f in "$1"/pkg/*.wasm "$1"/pkg/*.js "$1"/pkg/*.css; do
  brotli -f -k -q 11 "$f"
  gzip -f -k -n -9 "$f"
done
