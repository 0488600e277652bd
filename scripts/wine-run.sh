#!/usr/bin/env bash
# Runs a Windows program under wine, ready for codexport: cargo's target runner for
# x86_64-pc-windows-gnu (`.cargo/config.toml` does not set it; CI and developers export
#   CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/scripts/wine-run.sh"
# so that `cargo nextest run --target x86_64-pc-windows-gnu ...` runs the Windows test binaries
# under wine), and the way scripts and tests start a Windows `codexport.exe`.
#
#   scripts/wine-run.sh PROGRAM.exe [ARGS...]
#
# - One wine prefix per target dir (WINEPREFIX, default target/wine-prefix), created once under a
#   lock (test runners start many programs at once), never the user's ~/.wine.
# - WINEDEBUG=-all unless set: wine's own diagnostics would mix into the programs' stderr.
# - The bcryptprimitives.dll shim (scripts/wine-shim.sh) is installed in the prefix's system32,
#   so every program finds it wherever it lives.
# - Mono and Gecko are disabled (WINEDLLOVERRIDES), so creating the prefix never asks for them.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
export WINEPREFIX="${WINEPREFIX:-$target_dir/wine-prefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"

# Debian's `wine64` package installs its loader outside PATH; the `wine` package adds `wine`.
wine=""
for candidate in wine wine64 /usr/lib/wine/wine64; do
  if command -v "$candidate" >/dev/null 2>&1; then
    wine="$(command -v "$candidate")"
    break
  fi
done
if [ -z "$wine" ]; then
  echo "error: wine is not installed" >&2
  echo "hint: bash scripts/setup.sh --windows   (installs Debian's wine64 and gcc-mingw-w64-x86-64)" >&2
  exit 127
fi

system32="$WINEPREFIX/drive_c/windows/system32"
shim="$("$repo/scripts/wine-shim.sh")"
if [ ! -f "$WINEPREFIX/.codexport-ready" ] || ! cmp -s "$shim" "$system32/bcryptprimitives.dll"; then
  mkdir -p "$(dirname "$WINEPREFIX")"
  (
    flock 9
    if [ ! -f "$WINEPREFIX/.codexport-ready" ]; then
      "$wine" wineboot --init >/dev/null 2>&1 || true
      # wineboot returns before the prefix is written out: wait for its wineserver.
      "${wine%/*}/wineserver" -w 2>/dev/null || wineserver -w 2>/dev/null || true
      if [ ! -d "$system32" ]; then
        echo "error: wine could not create its prefix at \`$WINEPREFIX\`" >&2
        echo "hint: run \`WINEDEBUG=err+all $wine wineboot --init\` to see why" >&2
        exit 1
      fi
    fi
    "$repo/scripts/wine-shim.sh" --install "$system32" >/dev/null
    touch "$WINEPREFIX/.codexport-ready"
  ) 9>"$WINEPREFIX.lock"
fi
exec "$wine" "$@"
