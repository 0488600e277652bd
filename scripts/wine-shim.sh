#!/usr/bin/env bash
# Builds bcryptprimitives.dll for Wine and prints its path: Debian's wine 8.0 has no
# bcryptprimitives.dll, and Rust's std (1.78+) calls its `ProcessPrng` for random bytes (hash
# seeds, temp names) at start-up, so a Windows build of codexport fails to load under that wine.
# The shim exports `ProcessPrng` over advapi32's `SystemFunction036` (RtlGenRandom), which wine
# has. Only for running Windows builds under wine (tests, CI, scripts/dist.sh): a real Windows
# has the real DLL, and nothing ships this one.
#
#   scripts/wine-shim.sh                  build it (if missing or older than this script), print the path
#   scripts/wine-shim.sh --install DIR    also copy it into DIR (a wine prefix's
#                                         drive_c/windows/system32, or beside an .exe)
#
# Output: target/wine-shim/bcryptprimitives.dll (CARGO_TARGET_DIR is honoured).
# Needs x86_64-w64-mingw32-gcc (Debian's gcc-mingw-w64-x86-64; scripts/setup.sh installs it).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out_dir="${CARGO_TARGET_DIR:-$repo/target}/wine-shim"
dll="$out_dir/bcryptprimitives.dll"
script="$repo/scripts/wine-shim.sh"

if [ ! -s "$dll" ] || [ "$script" -nt "$dll" ]; then
  mkdir -p "$out_dir"
  cat >"$out_dir/bcryptprimitives.c" <<'C'
/* ProcessPrng for wine builds that lack bcryptprimitives.dll (see scripts/wine-shim.sh). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom, advapi32 */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    /* RtlGenRandom takes a 32-bit length: fill larger buffers in pieces. */
    while (length > 0) {
        ULONG piece = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, piece)) return FALSE;
        data += piece;
        length -= piece;
    }
    return TRUE; /* documented to always succeed */
}
C
  # Built in a folder of its own, then renamed: concurrent callers (test runners) never see a
  # half-written DLL, and the DLL's own name stays bcryptprimitives.dll.
  tmp="$out_dir/.build.$$"
  mkdir -p "$tmp"
  x86_64-w64-mingw32-gcc -shared -O2 -s -o "$tmp/bcryptprimitives.dll" \
    "$out_dir/bcryptprimitives.c" -ladvapi32
  mv -f "$tmp/bcryptprimitives.dll" "$dll"
  rmdir "$tmp"
fi

if [ "${1:-}" = --install ]; then
  dest="${2:?usage: wine-shim.sh --install DIR}"
  mkdir -p "$dest"
  if ! cmp -s "$dll" "$dest/bcryptprimitives.dll"; then
    cp "$dll" "$dest/bcryptprimitives.dll.$$.tmp"
    mv -f "$dest/bcryptprimitives.dll.$$.tmp" "$dest/bcryptprimitives.dll"
  fi
fi
printf '%s\n' "$dll"
