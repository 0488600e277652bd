#!/usr/bin/env bash
# Packs the npm packages from the binaries scripts/dist.sh left in dist/: `codexport` (npm/codexport,
# the JS shim) and one `@codexport/<os>-<cpu>` package per platform (npm/<os>-<cpu>), every version
# set to the workspace version. Writes the .tgz files into the output directory and prints their
# paths, the platform packages first (publish them before `codexport`).
#
#   bash scripts/npm-pack.sh                          # all three platforms, dist/ -> dist/npm/
#   bash scripts/npm-pack.sh --dist DIR --out DIR --platform linux-x64
#
# `--platform` (repeatable) packs only those platforms, and `codexport` then lists only them as
# optional dependencies (a test registry that holds one platform).
set -euo pipefail
cd "$(dirname "$0")/.."

dist=dist
out=
platforms=()
die() { printf 'npm-pack: error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dist) dist="${2:?--dist needs a directory}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --platform) platforms+=("${2:?--platform needs a name}"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \`$1\` (see \`bash scripts/npm-pack.sh --help\`)" ;;
  esac
done
[ -n "$out" ] || out="$dist/npm"
[ ${#platforms[@]} -gt 0 ] || platforms=(linux-x64 linux-arm64 win32-x64)

version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
[ -n "$version" ] || die "no version in Cargo.toml's [workspace.package]"

target_of() {
  case "$1" in
    linux-x64) echo x86_64-unknown-linux-musl ;;
    linux-arm64) echo aarch64-unknown-linux-musl ;;
    win32-x64) echo x86_64-pc-windows-gnu ;;
    *) die "unknown platform \`$1\` (known: linux-x64 linux-arm64 win32-x64)" ;;
  esac
}

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# Sets "version" (and the optionalDependencies codexport keeps) in the staged package.json.
stamp() {
  node -e '
    const fs = require("fs");
    const [file, version, keep] = process.argv.slice(1);
    const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
    pkg.version = version;
    if (pkg.optionalDependencies) {
      const wanted = new Set(keep.split(" ").map((p) => `@codexport/${p}`));
      pkg.optionalDependencies = Object.fromEntries(
        Object.keys(pkg.optionalDependencies).filter((n) => wanted.has(n)).map((n) => [n, version]),
      );
    }
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
  ' "$1" "$version" "${platforms[*]}"
}

pack() {
  (cd "$1" && npm pack --silent --pack-destination "$out") | sed "s|^|$out/|"
}

for platform in "${platforms[@]}"; do
  target="$(target_of "$platform")"
  bins="$dist/codexport-$version-$target"
  [ -d "$bins" ] || die "$bins missing (build it: bash scripts/dist.sh --target $target)"
  cp -r "npm/$platform" "$stage/$platform"
  mkdir -p "$stage/$platform/bin"
  cp "$bins"/codexport* "$stage/$platform/bin/"
  chmod 0755 "$stage/$platform/bin/"*
  stamp "$stage/$platform/package.json"
  pack "$stage/$platform"
done
cp -r npm/codexport "$stage/codexport"
cp README.md "$stage/codexport/"
stamp "$stage/codexport/package.json"
pack "$stage/codexport"
