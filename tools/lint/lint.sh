#!/usr/bin/env bash
# `make lint` (and so CI, .ci/run, before the tests). Every check runs; the exit status is 1 if any
# failed. Checked are the files in git plus new ones not yet added (not ignored ones, nor build
# dirs), so that a change is checked before it is committed:
#   ShellCheck     every shell script, found by its shebang or by *.sh (the parts a script sources
#                  name their shell in a `shell=bash` directive)
#   clang-format   --dry-run --Werror on our C++ (*.cc, *.h); generated code is not in git
#   buf lint       proto/ against proto/buf.yaml
#   buf breaking   proto/ against proto/ of the previous commit (LINT_AGAINST, default HEAD~1):
#                  the contracts pilot-city systems and partners code against (proto/buf.yaml)
# Tools: shellcheck and clang-format from apt, buf in .run/bin; deploy/local/deps.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/../.."
readonly ROOT="${PWD}"
readonly AGAINST="${LINT_AGAINST:-HEAD~1}"

failed=()
say() { printf 'lint: %s\n' "$*"; }
fail() {
  failed+=("$1")
  say "FAILED: $1"
}

# Tracked and new files (not ignored ones); build dirs of any name are not ours.
mapfile -t FILES < <(git ls-files --cached --others --exclude-standard | grep -v '^build[^/]*/' | sort -u)

# --- shellcheck -----------------------------------------------------------------------------------
shell_scripts=()
for f in "${FILES[@]}"; do
  [[ -f ${f} ]] || continue
  if [[ ${f} == *.sh ]] || head -n1 "${f}" | grep -qE '^#!.*[/ ](ba)?sh( |$)'; then
    shell_scripts+=("${f}")
  fi
done
say "shellcheck: ${#shell_scripts[@]} scripts"
if ! command -v shellcheck >/dev/null; then
  fail "shellcheck not installed (run deploy/local/deps.sh)"
elif ! shellcheck -x "${shell_scripts[@]}"; then
  fail "shellcheck"
fi

# --- clang-format ---------------------------------------------------------------------------------
cxx_files=()
for f in "${FILES[@]}"; do
  [[ -f ${f} && (${f} == *.cc || ${f} == *.h) ]] && cxx_files+=("${f}")
done
say "clang-format: ${#cxx_files[@]} files"
unformatted="$(clang-format --dry-run --Werror "${cxx_files[@]}" 2>&1 |
  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort | uniq -c)" ||
  true
if [[ -n ${unformatted} ]]; then
  printf '%s\n' "${unformatted}" | awk '{printf "  %s (%d places)\n", $2, $1}'
  fail "clang-format: the files above are not formatted (make format fixes them)"
fi

# --- buf ------------------------------------------------------------------------------------------
if [[ -x "${ROOT}/.run/bin/buf" ]]; then
  BUF="${ROOT}/.run/bin/buf"
elif command -v buf >/dev/null; then
  BUF="$(command -v buf)"
else
  BUF=""
  fail "buf not installed (run deploy/local/deps.sh)"
fi

if [[ -n ${BUF} ]]; then
  say "buf lint: proto/"
  "${BUF}" lint proto || fail "buf lint"

  # The previous version of proto/ is taken out of git into a scratch dir (git archive), so that
  # any commit works whatever the clone's depth, as long as it has that commit.
  if ! against_sha="$(git rev-parse -q --verify "${AGAINST}^{commit}")"; then
    if [[ "$(git rev-parse --is-shallow-repository)" == true ]]; then
      why="this clone is shallow and does not have it"
    else
      why="there is no such commit (the first commit?)"
    fi
    say "buf breaking: SKIPPED, not checked: ${AGAINST} is not available: ${why}"
  elif [[ -z "$(git ls-tree "${against_sha}" proto)" ]]; then
    say "buf breaking: SKIPPED, not checked: ${AGAINST} has no proto/"
  else
    say "buf breaking: proto/ against ${AGAINST} (${against_sha:0:12})"
    scratch="$(mktemp -d)"
    trap 'rm -rf "${scratch}"' EXIT
    git archive "${against_sha}" proto | tar -x -C "${scratch}"
    # The rules come from proto/buf.yaml of the tree being checked, whatever the old one said.
    "${BUF}" breaking proto --against "${scratch}/proto" --against-config proto/buf.yaml ||
      fail "buf breaking: proto/ breaks the published contract of ${AGAINST}"
  fi
fi

if ((${#failed[@]} > 0)); then
  say "${#failed[@]} check(s) failed: $(IFS=';'; echo "${failed[*]}")"
  exit 1
fi
say "all checks passed"
