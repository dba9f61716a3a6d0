#!/usr/bin/env bash
# Prints, one per line and sorted, the Debian packages that provide the shared libraries the given
# executables load (the whole closure ldd reports). The image copies those libraries themselves
# (tools/image/rootfs.py) and records these packages in it (/var/lib/dpkg/status.d/, with their
# copyright files) for scanners and licences; tests check the same list.
# Usage: runtime-packages.sh BINARY...
set -euo pipefail
(($# > 0)) || { echo "usage: $0 BINARY..." >&2; exit 2; }

# Package owning each library: one dpkg-query over every spelling of every path (the loader's,
# the resolved one, and its merged-/usr twin), since a package lists only the one it installed.
owners() {
  local lib real found candidate
  declare -A spellings=() owner_of=()
  for lib in "$@"; do
    real="$(readlink -f "${lib}")"
    spellings["${lib}"]="${lib} ${real} ${real#/usr} /usr${real}"
  done
  # shellcheck disable=SC2048,SC2086  # paths have no spaces: split on purpose
  while IFS= read -r line; do
    owner_of["${line#*: }"]="${line%%:*}"
  done < <(dpkg-query -S ${spellings[*]} 2>/dev/null || true)
  for lib in "$@"; do
    found=""
    for candidate in ${spellings["${lib}"]}; do
      found="${owner_of[${candidate}]:-}"
      [[ -n "${found}" ]] && break
    done
    if [[ -z "${found}" ]]; then
      echo "runtime-packages: no Debian package provides ${lib}" >&2
      echo "?"
    else
      echo "${found}"
    fi
  done
}

libs="$(for bin in "$@"; do
  [[ -x "${bin}" ]] || { echo "runtime-packages: not an executable: ${bin}" >&2; exit 1; }
  out="$(ldd "${bin}")" || { echo "runtime-packages: ldd failed on ${bin}" >&2; exit 1; }
  if grep -q "not found" <<<"${out}"; then
    echo "runtime-packages: ${bin} has unresolved libraries:" >&2
    grep "not found" <<<"${out}" >&2
    exit 1
  fi
  awk '$2 == "=>" && $3 ~ /^\// {print $3}' <<<"${out}"
done | sort -u)"
# shellcheck disable=SC2086  # library paths have no spaces
packages="$(owners ${libs})"
if grep -qx '?' <<<"${packages}"; then exit 1; fi
sort -u <<<"${packages}"
