#!/usr/bin/env bash
# Builds the release binaries `codexport` and `codexport-mcp-run` for every shipped target into
# dist/, one archive per target plus SHA256SUMS, then checks each binary: what `file` says it is,
# that the Linux ones are static, and that it runs `--version` (x86_64 natively, aarch64 under
# qemu-aarch64, Windows under wine).
#
#   bash scripts/dist.sh                                   # all targets, release profile
#   bash scripts/dist.sh --target x86_64-unknown-linux-musl --profile dev --out DIR
#   bash scripts/dist.sh --check-only                      # check what dist/ holds
#
# Asset names (what `[package.metadata.binstall]` in Cargo.toml and scripts/npm-pack.sh read):
#   codexport-<version>-<target>.tar.gz  holding  codexport-<version>-<target>/codexport[.exe]
#                                                 codexport-<version>-<target>/codexport-mcp-run[.exe]
# The unpacked directory stays beside its archive for scripts/npm-pack.sh.
#
# Toolchains (scripts/setup.sh --dist installs them): rustup targets, Debian's musl-tools,
# gcc-mingw-w64-x86-64, qemu-user and wine, cargo-zigbuild + ziglang from PyPI (the aarch64
# build has C dependencies: zig is its C cross compiler and linker).
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu)
targets=()
profile=release
out=dist
build=1
check=1

die() { printf 'dist: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'dist: %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --target) targets+=("${2:?--target needs a triple}"); shift 2 ;;
    --profile) profile="${2:?--profile needs a name}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --no-check) check=0; shift ;;
    --check-only) build=0; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \`$1\` (see \`bash scripts/dist.sh --help\`)" ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  case " ${ALL_TARGETS[*]} " in *" $t "*) ;; *) die "unsupported target \`$t\` (supported: ${ALL_TARGETS[*]})" ;; esac
done

version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
[ -n "$version" ] || die "no version in Cargo.toml's [workspace.package]"
target_dir="${CARGO_TARGET_DIR:-target}"
# cargo's directory for a profile: dev builds land in debug/.
profile_dir="$profile"
[ "$profile" = dev ] && profile_dir=debug
mkdir -p "$out"

exe_suffix() { case "$1" in *windows*) printf .exe ;; esac; }

build_target() {
  local t="$1" started elapsed
  started=$(date +%s)
  log "building $t ($profile)"
  case "$t" in
    x86_64-unknown-linux-musl)
      # The cc crate compiles the C dependencies (zstd, xz) with musl-gcc for this target;
      # rustc links musl statically by default.
      command -v musl-gcc >/dev/null || die "musl-gcc missing (apt-get install musl-tools, or: bash scripts/setup.sh --dist)"
      cargo build --locked --profile "$profile" --target "$t" -p codexport --bins ;;
    aarch64-unknown-linux-musl)
      cargo-zigbuild --version >/dev/null 2>&1 || die "cargo-zigbuild missing (pip install cargo-zigbuild ziglang, or: bash scripts/setup.sh --dist)"
      cargo zigbuild --locked --profile "$profile" --target "$t" -p codexport --bins ;;
    x86_64-pc-windows-gnu)
      command -v x86_64-w64-mingw32-gcc >/dev/null || die "x86_64-w64-mingw32-gcc missing (apt-get install gcc-mingw-w64-x86-64, or: bash scripts/setup.sh --dist)"
      # rustc compiles this target without function sections, so the linker can drop only
      # whole codegen units: the launcher came out at 9.7 MB, carrying the HTTP client, TLS and
      # the server it never calls. ThinLTO strips what is unreachable from each binary.
      local lto_var
      lto_var="CARGO_PROFILE_$(printf %s "$profile" | tr '[:lower:]-' '[:upper:]_')_LTO"
      env "$lto_var=thin" cargo build --locked --profile "$profile" --target "$t" -p codexport --bins ;;
  esac
  elapsed=$(( $(date +%s) - started ))
  log "built $t in $((elapsed / 60))m$((elapsed % 60))s"
}

stage_target() {
  local t="$1" name="codexport-$version-$1" ext
  ext="$(exe_suffix "$t")"
  rm -rf "${out:?}/$name" "$out/$name.tar.gz"
  mkdir -p "$out/$name"
  for bin in codexport codexport-mcp-run; do
    cp "$target_dir/$t/$profile_dir/$bin$ext" "$out/$name/$bin$ext"
  done
  # The release profile strips symbols; a dev build (the npm test's) is stripped here, where a
  # native strip can (x86_64), to keep its packages small.
  if [ "$profile" != release ] && [ "$t" = x86_64-unknown-linux-musl ]; then
    strip "$out/$name/codexport" "$out/$name/codexport-mcp-run"
  fi
  cp README.md "$out/$name/"
  # Reproducible archives: fixed order, owner and time.
  tar -C "$out" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$out/$name.tar.gz" "$name"
}

# Runs `$bin --version` for target $t and prints what it printed (stdout and stderr).
run_version() {
  local t="$1" bin="$2"
  case "$t" in
    x86_64-unknown-linux-musl) "$bin" --version 2>&1 ;;
    aarch64-unknown-linux-musl)
      command -v qemu-aarch64 >/dev/null || die "qemu-aarch64 missing (apt-get install qemu-user)"
      qemu-aarch64 "$bin" --version 2>&1 ;;
    # scripts/wine-run.sh: its own prefix and the bcryptprimitives.dll shim Debian's wine lacks.
    x86_64-pc-windows-gnu) bash scripts/wine-run.sh "$bin" --version 2>&1 | tr -d '\r' ;;
  esac
}

check_target() {
  local t="$1" name="codexport-$version-$1" ext desc got failed=0
  ext="$(exe_suffix "$t")"
  for bin in codexport codexport-mcp-run; do
    local path="$out/$name/$bin$ext"
    [ -f "$path" ] || die "$path missing (build it: bash scripts/dist.sh --target $t)"
    desc="$(file -b "$path")"
    case "$t" in
      x86_64-unknown-linux-musl) want='ELF 64-bit LSB*x86-64*static*' ;;
      aarch64-unknown-linux-musl) want='ELF 64-bit LSB*ARM aarch64*static*' ;;
      x86_64-pc-windows-gnu) want='PE32+ executable*x86-64*' ;;
    esac
    # shellcheck disable=SC2254
    case "$desc" in $want) ;; *) log "FAIL $path: file says \`$desc\`, expected \`$want\`"; failed=1 ;; esac
    case "$t" in
      *linux*)
        if readelf -l "$path" | grep -q 'INTERP'; then
          log "FAIL $path: has a program interpreter (not static)"; failed=1
        fi ;;
    esac
    got="$(run_version "$t" "$path" || true)"
    if [ "$got" = "$bin $version" ]; then
      log "ok   $t/$bin$ext: $(du -h "$path" | cut -f1), $desc"
    else
      log "FAIL $path --version printed \`$got\`, expected \`$bin $version\`"; failed=1
    fi
  done
  return $failed
}

if [ "$build" = 1 ]; then
  for t in "${targets[@]}"; do
    build_target "$t"
    stage_target "$t"
  done
  (cd "$out" && sha256sum -- codexport-*.tar.gz >SHA256SUMS)
  log "wrote $out/SHA256SUMS"
fi
if [ "$check" = 1 ]; then
  (cd "$out" && sha256sum --quiet -c SHA256SUMS) || die "$out/SHA256SUMS does not match the archives"
  status=0
  for t in "${targets[@]}"; do
    [ -d "$out/codexport-$version-$t" ] || { [ "$build" = 0 ] && continue; }
    check_target "$t" || status=1
  done
  [ "$status" = 0 ] || die "some binaries failed their checks (above)"
  log "all checks passed"
fi
