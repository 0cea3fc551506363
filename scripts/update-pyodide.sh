#!/usr/bin/env bash
# update-pyodide.sh VERSION — replace the vendored Pyodide core in
# static/pyodide/ with the npm package pyodide@VERSION.
# update-pyodide.sh --check — verify the vendored copy against its manifest.
#
# The tarball comes from `npm pack` (the only way in: no other download) and
# must match the integrity npm reports for it. Only the core is kept: what
# loadPyodide needs to boot CPython and nothing beyond (no packages). Files
# that compress are stored gzipped (the server sends them as they are to
# every browser that accepts gzip, which is all of them); the stdlib zip is
# already deflated and is stored as it is. SHA256SUMS records the sha256 of
# each file as the package has it (before gzip), and the version and the
# tarball's integrity; static/pyodide_test.go checks the embedded copy
# against it. One file is built rather than copied: python_stdlib.zip is
# the package's with the bytecode of the modules the page's Python imports
# as it starts (scripts/compile-stdlib.mjs, run by the package's own
# CPython under node), which a cold start would otherwise compile from
# source; SHA256SUMS records the sha256 of the package's copy in a comment
# and that of the built one in its line.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/static/pyodide
core=(pyodide.asm.wasm pyodide.asm.mjs pyodide.mjs pyodide-lock.json python_stdlib.zip)
stored() { # the name a core file is stored under
	if [ "$1" = python_stdlib.zip ]; then echo "$1"; else echo "$1.gz"; fi
}
die() { echo "update-pyodide: $*" >&2; exit 1; }

check() { # check DIR: every core file in DIR matches DIR/SHA256SUMS
	local dir=$1 f want got
	[ -f "$dir/SHA256SUMS" ] || die "$dir/SHA256SUMS is missing"
	for f in "${core[@]}"; do
		want=$(awk -v f="$f" '$2 == f { print $1 }' "$dir/SHA256SUMS")
		[ -n "$want" ] || die "SHA256SUMS has no line for $f"
		case $(stored "$f") in
		*.gz) got=$(gzip -dc "$dir/$f.gz" | sha256sum | cut -d' ' -f1) ;;
		*) got=$(sha256sum <"$dir/$f" | cut -d' ' -f1) ;;
		esac
		[ "$got" = "$want" ] || die "$f: sha256 $got, SHA256SUMS says $want"
	done
	echo "update-pyodide: $dir matches its SHA256SUMS ($(sed -n 's/^# pyodide //p' "$dir/SHA256SUMS"))"
}

[ $# -eq 1 ] || die "usage: $0 VERSION (e.g. 314.0.8) | --check"
if [ "$1" = --check ]; then
	check "$dest"
	exit 0
fi
version=$1
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([a-z0-9.]*)?$ ]] || die "not a version: $version"
for tool in npm node gzip sha256sum tar; do
	command -v "$tool" >/dev/null || die "needs $tool"
done
license_text=/usr/share/common-licenses/MPL-2.0 # Debian's base-files

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "pyodide@$version" --json --silent >pack.json)

# The tarball must be the one npm vouches for: its sha512 is the integrity
# npm reports (from the registry's metadata).
read -r tarball integrity < <(node -e '
	const p = JSON.parse(require("fs").readFileSync(process.argv[1]))[0];
	console.log(p.filename, p.integrity);' "$tmp/pack.json")
[[ $integrity == sha512-* ]] || die "npm reported no sha512 integrity for the tarball: $integrity"
actual=sha512-$(node -e '
	const c = require("crypto").createHash("sha512");
	c.update(require("fs").readFileSync(process.argv[1]));
	console.log(c.digest("base64"));' "$tmp/$tarball")
[ "$actual" = "$integrity" ] || die "$tarball: integrity $actual, npm reports $integrity"

mkdir "$tmp/x"
tar -xzf "$tmp/$tarball" -C "$tmp/x"
pkg=$tmp/x/package
read -r pv license < <(node -e '
	const p = JSON.parse(require("fs").readFileSync(process.argv[1]));
	console.log(p.version, p.license);' "$pkg/package.json")
[ "$pv" = "$version" ] || die "the tarball holds pyodide $pv, not $version"
# The licence text is not in the package; package.json names it. Another
# licence needs a person to look at it.
[ "$license" = MPL-2.0 ] || die "pyodide $version says its licence is $license, not MPL-2.0: check it and update this script"
[ -f "$license_text" ] || die "needs $license_text (Debian's base-files) for the licence text"

new=$tmp/new
mkdir "$new"
{
	echo "# pyodide $version"
	echo "# npm pack pyodide@$version: $tarball, integrity $integrity"
	echo "# sha256 of each file as served before gzip (the .gz copies are gzip -9n of them): the package's own,"
	echo "# but python_stdlib.zip, built from the package's (sha256 $(sha256sum <"$pkg/python_stdlib.zip" | cut -d' ' -f1)) by scripts/compile-stdlib.mjs"
} >"$new/SHA256SUMS"
for f in "${core[@]}"; do
	[ -f "$pkg/$f" ] || die "pyodide $version has no $f: its core changed, update this script"
	src=$pkg/$f
	if [ "$f" = python_stdlib.zip ]; then
		node "$root/scripts/compile-stdlib.mjs" "$pkg" "$tmp/python_stdlib.zip"
		src=$tmp/python_stdlib.zip
	fi
	echo "$(sha256sum <"$src" | cut -d' ' -f1)  $f" >>"$new/SHA256SUMS"
	case $(stored "$f") in
	*.gz) gzip -9 -n -c "$src" >"$new/$f.gz" ;;
	*) cp "$src" "$new/$f" ;;
	esac
done
{
	echo "Pyodide $version (npm package pyodide, https://github.com/pyodide/pyodide) is"
	echo "distributed under the Mozilla Public License 2.0, whose text follows. It"
	echo "contains CPython (Python Software Foundation License) and code built with"
	echo "Emscripten (MIT); their notices are in the Pyodide source distribution."
	echo
	cat "$license_text"
} >"$new/LICENSE"
check "$new"

rm -rf "$dest"
mv "$new" "$dest"
echo "update-pyodide: static/pyodide is now pyodide $version"
du -sh "$dest"
