#!/usr/bin/python3
"""What the techtrade container image holds, computed from the built binaries on a Debian 12
machine: the binaries (debug sections stripped) and their shared-library closure (ldd), the
loader, /etc/passwd and /etc/group with the non-root user 65532, the public CA bundle, and the
dpkg records and copyright files of the Debian packages those libraries come from.

deploy/images/Dockerfile is the one source of the image's settings (its last stage's ENV, EXPOSE,
USER, CMD, WORKDIR) and of the binaries it holds (ARG TARGETS); `make image`
(tools/image/build_image.py) and the Dockerfile's build stage both take the files from here.

Usage (the Dockerfile's build stage): rootfs.py --root SRC --bin-dir BIN --out DIR
writes the root filesystem into DIR.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

MULTIARCH = "x86_64-linux-gnu"
LIB_DIR = f"usr/lib/{MULTIARCH}"
# Without it glibc asks DNS before /etc/hosts; the kubelet writes both files in a pod.
NSSWITCH = "passwd: files\ngroup: files\nhosts: files dns\n"


def run(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def read(path):
    with open(path, "rb") as f:
        return f.read()


def dockerfile_settings(root):
    """The Dockerfile's ARG TARGETS and its last stage's ENV, EXPOSE, USER, CMD, WORKDIR and
    LABEL (the values of build arguments left as written: build_image.py fills them in)."""
    with open(os.path.join(root, "deploy/images/Dockerfile"), encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    targets = re.search(r'^ARG TARGETS="([^"]+)"', text, re.M)
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    if not targets or not stages:
        sys.exit("rootfs: deploy/images/Dockerfile has no ARG TARGETS or no FROM")
    settings = {"targets": targets.group(1).split(), "env": [], "ports": [], "user": "",
                "cmd": [], "workdir": "/", "labels": {}}
    for line in lines[stages[-1]:]:
        word, _, rest = line.partition(" ")
        if word == "ENV":
            settings["env"] += rest.split()
        elif word == "EXPOSE":
            settings["ports"] += [p if "/" in p else f"{p}/tcp" for p in rest.split()]
        elif word == "USER":
            settings["user"] = rest.strip()
        elif word == "CMD":
            settings["cmd"] = json.loads(rest)
        elif word == "LABEL":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                settings["labels"][key] = value
        elif word == "WORKDIR":
            settings["workdir"] = rest.strip()
    if not re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", settings["user"]):
        sys.exit(f"rootfs: the Dockerfile's USER must be uid:gid, not root: {settings['user']!r}")
    return settings


def library_closure(binaries):
    """{path in the image: file on this machine} for every library ldd resolves, and the loader.
    Each library is placed under the name the loader looks for in /usr/lib/<multiarch> (merged
    /usr: /lib links there), as the real file rather than its symlink chain."""
    files = {}
    for binary in binaries:
        out = run("ldd", binary)
        if "not found" in out:
            sys.exit(f"rootfs: {binary} has unresolved libraries:\n{out}")
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[1] == "=>" and fields[2].startswith("/"):
                files[f"{LIB_DIR}/{os.path.basename(fields[2])}"] = os.path.realpath(fields[2])
            elif fields and fields[0].startswith("/"):  # the loader, by its PT_INTERP path
                loader = fields[0]
                files[loader[1:] if loader.startswith("/usr/") else "usr" + loader] = \
                    os.path.realpath(loader)
    return files


class Tree:
    """Files of a root filesystem: path -> (kind, data, mode), kind dir, file or symlink."""

    def __init__(self):
        self.entries = {}

    def dir(self, path, mode=0o755):
        self.entries[path] = ("dir", None, mode)

    def file(self, path, data, mode=0o644):
        parts = path.split("/")
        for i in range(1, len(parts)):
            self.entries.setdefault("/".join(parts[:i]), ("dir", None, 0o755))
        self.entries[path] = ("file", data, mode)

    def symlink(self, path, target):
        self.entries[path] = ("symlink", target, 0o777)

    def write(self, out):
        for path in sorted(self.entries):
            kind, data, mode = self.entries[path]
            target = os.path.join(out, path)
            if kind == "dir":
                os.makedirs(target, exist_ok=True)
            elif kind == "symlink":
                os.symlink(data, target)
                continue
            else:
                with open(target, "wb") as f:
                    f.write(data)
            os.chmod(target, mode)


def runtime_tree(root, binaries, uid, gid):
    """Everything but the binaries: what changes with the distribution, not with each commit."""
    tree = Tree()
    for link in ["bin", "lib", "lib64", "sbin"]:
        tree.symlink(link, f"usr/{link}")
    for path in ["usr/bin", "usr/sbin", "usr/local/bin", "etc/techtrade/tls", "home/nonroot",
                 "root", "proc", "sys", "dev", "run"]:
        tree.dir(path)
    tree.dir("tmp", 0o1777)
    for path, source in library_closure(binaries).items():
        tree.file(path, read(source), 0o755)
    tree.file("etc/passwd", ("root:x:0:0:root:/root:/sbin/nologin\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
                             f"nonroot:x:{uid}:{gid}:nonroot:/home/nonroot:/sbin/nologin\n"
                             ).encode())
    tree.file("etc/group", f"root:x:0:\nnogroup:x:65534:\nnonroot:x:{gid}:\n".encode())
    tree.file("etc/nsswitch.conf", NSSWITCH.encode())
    tree.file("etc/os-release", read("/usr/lib/os-release"))
    # The services trust only the CA they are given (TECHTRADE_TLS_CA, PGSSLROOTCERT); these
    # public roots serve an operator's managed PostgreSQL or Kafka with a public certificate.
    tree.file("etc/ssl/certs/ca-certificates.crt", read("/etc/ssl/certs/ca-certificates.crt"))
    # The packages deploy/images/runtime-packages.sh names, as distroless records them, so that
    # image scanners see them; with their licences.
    packages = run(os.path.join(root, "deploy/images/runtime-packages.sh"), *binaries).split()
    for package in packages:
        name = package.split(":")[0]
        tree.file(f"var/lib/dpkg/status.d/{name}", run("dpkg-query", "-s", package).encode())
        copyright_file = f"/usr/share/doc/{name}/copyright"
        if os.path.exists(copyright_file):
            tree.file(copyright_file[1:], read(copyright_file))
    return tree


def binaries_tree(binaries):
    """The binaries on PATH (/usr/local/bin), without debug sections, as in the Dockerfile."""
    tree = Tree()
    with tempfile.TemporaryDirectory() as scratch:
        for binary in binaries:
            out = os.path.join(scratch, os.path.basename(binary))
            run("objcopy", "--strip-debug", binary, out)
            tree.file(f"usr/local/bin/{os.path.basename(binary)}", read(out), 0o755)
    return tree


def image_trees(root, bin_dir):
    """(settings, [runtime tree, binaries tree]) for the binaries in bin_dir."""
    settings = dockerfile_settings(root)
    binaries = [os.path.join(bin_dir, t) for t in settings["targets"]]
    missing = [b for b in binaries if not os.access(b, os.X_OK)]
    if missing:
        sys.exit(f"rootfs: not built: {' '.join(missing)}")
    uid, gid = (int(x) for x in settings["user"].split(":"))
    return settings, [runtime_tree(root, binaries, uid, gid), binaries_tree(binaries)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    _, trees = image_trees(os.path.abspath(args.root), args.bin_dir)
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    for tree in trees:
        tree.write(args.out)


if __name__ == "__main__":
    main()
