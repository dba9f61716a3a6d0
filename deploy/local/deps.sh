#!/usr/bin/env bash
# Installs everything the techtrade build and the local stack (deploy/local/stack.sh) need:
#   - Debian packages (toolchain, C++ libraries, PostgreSQL 15, Redis, JRE, Maven, Go, tools),
#   - the Apache Kafka broker jars, fetched from Maven Central into .run/kafka/libs,
#   - grpcurl and buf (protobuf lint and breaking-change checks), built with the Go toolchain into
#     .run/bin.
# Idempotent: when everything is already present it only checks and exits quickly; when nothing
# changed since the last complete run (a stamp, see below) it checks next to nothing.
# Must run as root if apt packages are missing (it never uses sudo itself).
# `deps.sh --build-only`: only what compiling needs (the container image's build stage).
set -euo pipefail

BUILD_ONLY=0
case "${1:-}" in
  --build-only) BUILD_ONLY=1 ;;
  "") ;;
  *) echo "usage: $0 [--build-only]" >&2; exit 2 ;;
esac

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd -P)"
readonly SCRIPT_DIR ROOT
readonly KAFKA_POM="${SCRIPT_DIR}/kafka/pom.xml"
readonly KAFKA_LIBS="${ROOT}/.run/kafka/libs"
readonly BIN_DIR="${ROOT}/.run/bin"
readonly GRPCURL_VERSION="v1.9.1"
readonly BUF_VERSION="v1.75.0"
readonly STAMP="${ROOT}/.run/deps.stamp"

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librdkafka-dev libhiredis-dev libpqxx-dev libpq-dev libabsl-dev
  libbenchmark-dev prometheus-cpp-dev libgtest-dev libgmock-dev googletest
  nlohmann-json3-dev libssl-dev libgoogle-perftools-dev
)
APT_PACKAGES=(
  "${BUILD_PACKAGES[@]}"
  postgresql-15 postgresql-client-15 redis-server
  openjdk-17-jre-headless maven
  clang-format shellcheck procps iproute2 netcat-openbsd curl python3 python3-yaml
  # `make fuzz`: clang with libFuzzer and the sanitizer runtimes.
  clang libclang-rt-14-dev
)
((BUILD_ONLY)) && APT_PACKAGES=("${BUILD_PACKAGES[@]}")

log() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: ERROR: %s\n' "$*" >&2; exit 1; }

# A Go toolchain installed from go.dev lives in /usr/local/go and is often not on PATH for
# non-login shells; use it rather than pulling Debian's older golang-go.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:${PATH}"
fi
if ! command -v go >/dev/null 2>&1 && ((!BUILD_ONLY)); then
  APT_PACKAGES+=(golang-go)
fi

# Not read in --build-only mode: the image's build stage has deps.sh but not the pom.
KAFKA_VERSION=""
if ((!BUILD_ONLY)); then
  KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "${KAFKA_POM}" | head -n1)"
  [[ -n "${KAFKA_VERSION}" ]] || die "cannot read <kafka.version> from ${KAFKA_POM}"
fi

kafka_libs_ok() {
  [[ -f "${KAFKA_LIBS}/.version" && "$(cat "${KAFKA_LIBS}/.version")" == "${KAFKA_VERSION}" ]] &&
    [[ -f "${KAFKA_LIBS}/kafka_2.13-${KAFKA_VERSION}.jar" ]] &&
    [[ -f "${KAFKA_LIBS}/kafka-tools-${KAFKA_VERSION}.jar" ]]
}

buf_ok() { [[ -x "${BIN_DIR}/buf" && "$(cat "${BIN_DIR}/buf.version" 2>/dev/null)" == "${BUF_VERSION}" ]]; }

# --- 0. Nothing changed since the last complete run? ----------------------------------------------
# `make build` runs this script every time, so the common case must cost next to nothing. The stamp
# holds what the last complete run checked (mode, package list, pinned versions) and is valid while
# dpkg's database is older than it: every package install or removal rewrites
# /var/lib/dpkg/status. Files fetched into .run are checked directly: they are cheap to test.
stamp_key() {
  printf '%s\n' "build-only=${BUILD_ONLY}" "${APT_PACKAGES[@]}" "kafka=${KAFKA_VERSION}" \
    "grpcurl=${GRPCURL_VERSION}" "buf=${BUF_VERSION}"
}
if [[ -f ${STAMP} && ${STAMP} -nt /var/lib/dpkg/status && "$(<"${STAMP}")" == "$(stamp_key)" ]] &&
  { ((BUILD_ONLY)) || { kafka_libs_ok && [[ -x "${BIN_DIR}/grpcurl" ]] && buf_ok; }; }; then
  log "all present (unchanged since the last check; remove $(basename "${STAMP}") in .run to recheck)"
  exit 0
fi
rm -f "${STAMP}"

# Two stack instances brought up at the same time both run this script; serialise them so the
# downloads below never race. apt runs with fd 8 closed: daemons its postinst scripts may start
# must not keep the lock.
mkdir -p "${ROOT}/.run"
exec 8>"${ROOT}/.run/deps.lock"
if ! flock -n 8; then
  log "waiting for another deps.sh run to finish"
  flock -w 900 8 || die "timed out waiting for ${ROOT}/.run/deps.lock"
fi

# --- 1. apt packages ------------------------------------------------------------------------------
# One `dpkg -s` call for all packages (a call per package would make the no-op case slow);
# a package counts as present only if its status is "install ok installed".
missing_packages() {
  local installed
  installed="$(dpkg -s "${APT_PACKAGES[@]}" 2>/dev/null |
    awk '/^Package: /{p=$2} /^Status: install ok installed$/{print p}' || true)"
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    # Multi-arch packages are reported without the ":arch" suffix, so a plain name match works.
    grep -qxF -- "${pkg}" <<<"${installed}" || printf '%s\n' "${pkg}"
  done
}

mapfile -t MISSING < <(missing_packages)
if ((${#MISSING[@]} > 0)); then
  log "installing apt packages: ${MISSING[*]}"
  [[ ${EUID} -eq 0 ]] || die "installing packages needs root; run: sudo $0"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq 8>&-
  apt-get install -y -qq "${MISSING[@]}" >/dev/null 8>&-
  log "apt packages installed"
else
  log "apt packages: all ${#APT_PACKAGES[@]} present"
fi

if ((BUILD_ONLY)); then
  stamp_key >"${STAMP}.tmp.$$" && mv "${STAMP}.tmp.$$" "${STAMP}"
  log "done (build only)"
  exit 0
fi
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:${PATH}"
fi

# --- 2. Kafka broker jars -------------------------------------------------------------------------
# The version is pinned in the pom; the marker file records which version the libs dir holds so
# that bumping the pom refetches. The jars are fetched into a temporary dir and swapped in, so an
# interrupted download never leaves a half-filled classpath behind.
if kafka_libs_ok; then
  log "Kafka ${KAFKA_VERSION} jars: present in ${KAFKA_LIBS#"${ROOT}/"}"
else
  log "fetching Kafka ${KAFKA_VERSION} jars via Maven into ${KAFKA_LIBS#"${ROOT}/"}"
  command -v mvn >/dev/null 2>&1 || die "mvn not found (apt package maven)"
  tmp="${KAFKA_LIBS}.tmp.$$"
  mvn_log="${ROOT}/.run/kafka/maven.log"
  mkdir -p "${ROOT}/.run/kafka"
  rm -rf "${tmp}"
  if ! mvn -q -B -Dstyle.color=never -f "${KAFKA_POM}" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="${tmp}" >"${mvn_log}" 2>&1; then
    rm -rf "${tmp}"
    tail -n 30 "${mvn_log}" >&2 || true
    die "Maven could not fetch the Kafka jars (full log: ${mvn_log})"
  fi
  printf '%s\n' "${KAFKA_VERSION}" >"${tmp}/.version"
  rm -rf "${KAFKA_LIBS}"
  mv "${tmp}" "${KAFKA_LIBS}"
  log "Kafka ${KAFKA_VERSION} jars ready ($(find "${KAFKA_LIBS}" -name '*.jar' | wc -l) jars)"
fi

# --- 3. Go tools ----------------------------------------------------------------------------------
# Not packaged in Debian 12; built from source through the Go module proxy. GOFLAGS=-mod=mod keeps
# a vendor dir or GOFLAGS from the caller's environment from interfering.
# go_install NAME PACKAGE VERSION [FALLBACK]: builds PACKAGE@VERSION into BIN_DIR/NAME, or
# PACKAGE@FALLBACK if that fails and a fallback is given.
go_install() {
  local name="$1" package="$2" version="$3" fallback="${4:-}"
  command -v go >/dev/null 2>&1 || die "go not found (apt package golang-go)"
  mkdir -p "${BIN_DIR}"
  log "building ${name} ${version} with $(go version | awk '{print $3}') into ${BIN_DIR#"${ROOT}/"} (minutes the first time)"
  local go_log="${BIN_DIR}/${name}-build.log"
  if GOBIN="${BIN_DIR}" GOFLAGS=-mod=mod go install "${package}@${version}" >"${go_log}" 2>&1; then
    return 0
  fi
  if [[ -n "${fallback}" ]]; then
    log "${name} ${version} failed to build, trying @${fallback}"
    if GOBIN="${BIN_DIR}" GOFLAGS=-mod=mod go install "${package}@${fallback}" >>"${go_log}" 2>&1; then
      return 0
    fi
  fi
  tail -n 30 "${go_log}" >&2 || true
  die "could not build ${name} (full log: ${go_log})"
}

if [[ -x "${BIN_DIR}/grpcurl" ]]; then
  log "grpcurl: present in ${BIN_DIR#"${ROOT}/"}"
else
  go_install grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "${GRPCURL_VERSION}" latest
  # `go install` does not stamp grpcurl's -version string; the module version is in the binary.
  log "grpcurl ready: $(go version -m "${BIN_DIR}/grpcurl" | awk '$1 == "mod" {print $2 "@" $3}')"
fi

# `make lint` runs `buf lint` and `buf breaking` on proto/ (the contracts integrators code against).
# Pinned; buf.version records the build's version so that bumping BUF_VERSION rebuilds it.
if buf_ok; then
  log "buf ${BUF_VERSION}: present in ${BIN_DIR#"${ROOT}/"}"
else
  go_install buf github.com/bufbuild/buf/cmd/buf "${BUF_VERSION}"
  printf '%s\n' "${BUF_VERSION}" >"${BIN_DIR}/buf.version"
  log "buf ready: $("${BIN_DIR}/buf" --version)"
fi

stamp_key >"${STAMP}.tmp.$$" && mv "${STAMP}.tmp.$$" "${STAMP}"
log "done"
