#!/usr/bin/env bash
# Installs everything codexport's demo, tests and benchmarks need on a fresh machine.
# Idempotent: every step checks before it installs. Safe to run on every CI run.
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }

# Node.js and npm: the npm resolver and the npm MCP servers in the tests.
if ! command -v npm >/dev/null 2>&1; then
  log "installing nodejs and npm (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

# uv and uvx: the uv resolver and the PyPI MCP servers in the tests.
if ! command -v uv >/dev/null 2>&1 || ! command -v uvx >/dev/null 2>&1; then
  log "installing uv (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check uv
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
fi

# Rust: the wasm target for resolver plugins, and nextest for the test run.
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
  log "adding the wasm32-wasip2 target"
  rustup target add wasm32-wasip2
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest (crates.io)"
  cargo install --locked cargo-nextest
fi
# Windows: the x86_64-pc-windows-gnu target, its linker (mingw-w64) and wine to run what it
# builds (CI's Windows block; scripts/wine-run.sh, scripts/wine-shim.sh). Debian's `wine64`
# installs its loader as /usr/lib/wine/wine64, which scripts/wine-run.sh finds.
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
  log "adding the x86_64-pc-windows-gnu target"
  rustup target add x86_64-pc-windows-gnu
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 ||
  ! { command -v wine >/dev/null 2>&1 || command -v wine64 >/dev/null 2>&1 || [ -x /usr/lib/wine/wine64 ]; }; then
  log "installing gcc-mingw-w64-x86-64 and wine64 (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-mingw-w64-x86-64 wine64 >/dev/null
fi
# Codex CLI itself, side by side: tests check what codexport writes against each version
# (0.169.0 in .tools/codex, newer ones in .tools/codex-<version>; test-support's codex_bin_of).
for codex_version in 0.169.0 0.171.0; do
  if [ "$codex_version" = 0.169.0 ]; then
    codex_prefix="$(dirname "$0")/../.tools/codex"
  else
    codex_prefix="$(dirname "$0")/../.tools/codex-$codex_version"
  fi
  if ! grep -qs "\"version\": \"$codex_version\"" "$codex_prefix/node_modules/@openai/codex/package.json"; then
    log "installing @openai/codex@$codex_version into ${codex_prefix#*/../} (npm)"
    npm install --no-audit --no-fund --save-exact --prefix "$codex_prefix" "@openai/codex@$codex_version" >/dev/null
  fi
done
# Distribution (scripts/dist.sh, scripts/npm-pack.sh, tests/npm_registry.rs). Always: the static
# x86_64 Linux target and musl-gcc for its C dependencies (the npm test builds it), and verdaccio,
# the test's loopback npm registry (6.8.0: the newest that runs on Node 20, with node-fetch
# pinned to 2.7.0 by `overrides`; .tools/verdaccio/package-lock.json pins the rest).
# With --dist, also what the other release targets need: aarch64 (zig as its C cross compiler,
# via cargo-zigbuild, both from PyPI; qemu-user to run it) and Windows (see above).
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  log "adding the x86_64-unknown-linux-musl target"
  rustup target add x86_64-unknown-linux-musl
fi
if ! command -v musl-gcc >/dev/null 2>&1; then
  log "installing musl-tools (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null
fi
verdaccio_prefix="$(dirname "$0")/../.tools/verdaccio"
if ! grep -qs '"version": "6.8.0"' "$verdaccio_prefix/node_modules/verdaccio/package.json"; then
  log "installing verdaccio 6.8.0 into .tools/verdaccio (npm)"
  npm ci --no-audit --no-fund --prefix "$verdaccio_prefix" >/dev/null
fi
for arg in "$@"; do
  [ "$arg" = --dist ] || continue
  if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx aarch64-unknown-linux-musl; then
    log "adding the aarch64-unknown-linux-musl target"
    rustup target add aarch64-unknown-linux-musl
  fi
  if ! command -v qemu-aarch64 >/dev/null 2>&1; then
    log "installing qemu-user (Debian)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null
  fi
  if ! cargo-zigbuild --version >/dev/null 2>&1 || ! python3 -m ziglang version >/dev/null 2>&1; then
    log "installing cargo-zigbuild and ziglang (PyPI)"
    python3 -m pip install --quiet --disable-pip-version-check cargo-zigbuild ziglang
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
  fi
done
log "ready: node $(node --version), uv $(uv --version | cut -d' ' -f2), $(cargo --version)"
