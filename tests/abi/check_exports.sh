#!/usr/bin/env bash
# The exported surface of the built library is exactly the C ABI:
#  - `nm -D --defined-only` lists only lifehook_* symbols, each at its version node (@@LIFEHOOK_x.y),
#    and that set equals the one declared in the linker version script;
#  - nothing of fmt, spdlog, Boost, libcurl, nlohmann or the C++ runtime is defined (exported);
#  - the SONAME is liblifehook.so.1;
#  - the library needs neither libfmt nor libspdlog (both are header-only and hidden inside it).
# Usage: check_exports.sh /path/to/liblifehook.so.1.x.y /path/to/abi/lifehook.map
set -euo pipefail
so=${1:?usage: check_exports.sh LIBRARY VERSION_SCRIPT}
map=${2:?usage: check_exports.sh LIBRARY VERSION_SCRIPT}
fail=0
problem() { echo "FAIL: $*" >&2; fail=1; }

# Expected: "name@@NODE" for every `name;` in the global: part of each node of the version script.
expected=$(sed 's|/\*.*\*/||g; s|#.*||' "$map" | awk '
  /^[[:space:]]*[A-Za-z0-9_.]+[[:space:]]*\{/ { node = $1; sub(/\{.*/, "", node); section = ""; next }
  /global:/ { section = "global"; next }
  /local:/  { section = "local"; next }
  /^[[:space:]]*\}/ { section = ""; next }
  section == "global" && /;/ { gsub(/[[:space:];]/, ""); if ($0 != "") print $0 "@@" node }
' | sort -u)
nodes=$(sed 's|/\*.*\*/||g' "$map" | awk '/^[[:space:]]*[A-Za-z0-9_.]+[[:space:]]*\{/ { n = $1; sub(/\{.*/, "", n); print n }')
[[ -n $expected ]] || problem "no exported symbol found in $map"

# Actual: defined dynamic symbols, less the version nodes' own absolute symbols (type A).
nm_out=$(nm -D --defined-only "$so")
actual=$(awk '$2 != "A" { print $3 }' <<<"$nm_out" | sort -u)
version_syms=$(awk '$2 == "A" { print $3 }' <<<"$nm_out" | sort -u)

while read -r sym; do
  [[ -z $sym ]] && continue
  [[ $sym =~ ^lifehook_[a-z0-9_]+@@LIFEHOOK_[0-9]+\.[0-9]+$ ]] || problem "unexpected export: $sym"
done <<<"$actual"
if [[ $actual != "$expected" ]]; then
  problem "exports differ from $map:"
  diff <(echo "$expected") <(echo "$actual") | sed 's/^/    /' >&2 || true
fi
if [[ $version_syms != "$(sort -u <<<"$nodes")" ]]; then
  problem "version nodes in the library ($(echo $version_syms)) differ from the script ($(echo $nodes))"
fi
if grep -Eiq 'fmt|spdlog|boost|curl|nlohmann|asio|_Z' <<<"$actual"; then
  problem "a dependency's or a C++ symbol is exported: $(grep -Ei 'fmt|spdlog|boost|curl|nlohmann|asio|_Z' <<<"$actual" | head -5 | tr '\n' ' ')"
fi

dynamic=$(readelf -d "$so")
soname=$(sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p' <<<"$dynamic")
[[ $soname == liblifehook.so.1 ]] || problem "SONAME is '$soname', want liblifehook.so.1"
needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dynamic")
if grep -Eq 'libfmt|libspdlog' <<<"$needed"; then problem "links $(grep -E 'libfmt|libspdlog' <<<"$needed" | tr '\n' ' ')"; fi
if ldd "$so" | grep -Eq 'libfmt|libspdlog'; then problem "ldd shows libfmt/libspdlog: $(ldd "$so" | grep -E 'libfmt|libspdlog')"; fi

echo "exports ($(wc -l <<<"$actual")):"
sed 's/^/  /' <<<"$actual"
echo "SONAME: $soname"
echo "NEEDED: $(echo $needed)"
if ((fail)); then echo "check_exports: FAILED" >&2; exit 1; fi
echo "check_exports: OK"
