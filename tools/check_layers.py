#!/usr/bin/env python3
"""The layer check: a service's domain code is pure.

Fails (exit 1, naming file and header or library) when a source of a domain library, or a project
header it includes at any depth, includes a gRPC, libpqxx, librdkafka or hiredis header; when a
domain library links one of those libraries, directly or transitively; or when a source under
services/<name>/domain/ belongs to no domain library.

Usage: check_layers.py <source dir> <build dir>   (reads <build dir>/layers/*.txt, written by
cmake/layers.cmake)
"""
import pathlib
import re
import sys

FORBIDDEN_HEADER = re.compile(
    r"^(grpc/|grpcpp/|grpc\+\+/|pqxx/|libpq-fe\.h|librdkafka/|rdkafka|hiredis/)|\.grpc\.pb\.h$")
FORBIDDEN_LINK = re.compile(r"grpc|pqxx|libpq|PkgConfig::PQ$|rdkafka|hiredis", re.IGNORECASE)
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.MULTILINE)


def includes(path):
    return INCLUDE.findall(path.read_text(encoding="utf-8", errors="replace"))


def header_problems(source, root):
    """Forbidden headers reached from `source`, as (chain, header) pairs."""
    problems, seen = [], set()
    stack = [(source, [str(source.relative_to(root))])]
    while stack:
        path, chain = stack.pop()
        for header in includes(path):
            if FORBIDDEN_HEADER.search(header):
                problems.append((" -> ".join(chain), header))
                continue
            local = root / header
            if local.is_file() and local not in seen:
                seen.add(local)
                stack.append((local, chain + [header]))
    return problems


def check(root, build):
    root, build = pathlib.Path(root).resolve(), pathlib.Path(build).resolve()
    manifests = sorted((build / "layers").glob("*.txt"))
    errors = []
    if not manifests:
        errors.append(f"no layer manifests in {build / 'layers'}: configure with CMake first")
    owned = set()
    for manifest in manifests:
        target = manifest.stem
        for line in manifest.read_text().splitlines():
            kind, _, value = line.partition(" ")
            if kind == "link" and FORBIDDEN_LINK.search(value):
                errors.append(f"{target}: links {value}")
            elif kind == "source":
                source = pathlib.Path(value)
                owned.add(source)
                for chain, header in header_problems(source, root):
                    errors.append(f"{target}: {chain} includes <{header}>")
    for source in sorted(root.glob("services/*/domain/*.cc")):
        if source.resolve() not in owned:
            errors.append(f"{source.relative_to(root)}: in no domain library "
                          "(techtrade_domain_library in its service's CMakeLists.txt)")
    return errors


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    errors = check(argv[1], argv[2])
    for e in errors:
        print(f"layer check: {e}")
    if errors:
        return 1
    print("layer check: every domain library is free of gRPC, libpqxx, librdkafka and hiredis")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
