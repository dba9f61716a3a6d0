#!/usr/bin/python3
"""Builds the techtrade container image without a container engine: an OCI image layout (and the
same layout as one tar file) from the built binaries and their shared-library closure on this
Debian 12 machine. `make image` runs it; docs/operations.md, "Container image", says what is in
the image and how it matches deploy/images/Dockerfile, whose binaries, settings (ENV, EXPOSE,
USER, CMD, WORKDIR) and labels it takes, with the files tools/image/rootfs.py chooses.

Reproducible: the same binaries, libraries and commit give the same digest. Every tar is written
with sorted names, owner 0:0 and every mtime at SOURCE_DATE_EPOCH (the commit's time unless set);
gzip carries no name or time; JSON is written with sorted keys.

Usage: build_image.py --root ROOT --bin-dir BIN --out OUT [--source URL]
Prints the manifest digest last; OUT/oci/ is the layout, OUT/techtrade.oci.tar the same as a
tar (docker load, podman load, skopeo copy oci-archive:), OUT/digest the digest.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time

from rootfs import Tree, image_trees


def run(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def layer_tar(tree, epoch):
    """tree as a tar: sorted names, owner 0:0, every mtime at epoch."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(tree.entries):
            kind, data, mode = tree.entries[path]
            info = tarfile.TarInfo(path)
            info.mtime = epoch
            info.mode = mode
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def gzip_bytes(data):
    buffer = io.BytesIO()
    # No file name and mtime 0, as `gzip -n`.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buffer.getvalue()


def git_facts(root, epoch_override):
    """The commit, SOURCE_DATE_EPOCH (the commit's time unless set) and the version: the short
    commit, with -dirty when tracked files differ from it."""
    commit = run("git", "rev-parse", "HEAD", cwd=root).strip()
    epoch = int(epoch_override or run("git", "log", "-1", "--format=%ct", commit, cwd=root))
    dirty = bool(run("git", "status", "--porcelain", "--untracked-files=no", cwd=root).strip())
    return commit, epoch, commit[:12] + ("-dirty" if dirty else "")


class Blobs:
    def __init__(self, layout):
        self.dir = os.path.join(layout, "blobs", "sha256")
        os.makedirs(self.dir, exist_ok=True)

    def put(self, media_type, data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.dir, digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def tar_directory(directory, out_path, epoch):
    """directory as a reproducible tar (sorted names, fixed mtime, owner 0:0)."""
    tree = Tree()
    for base, _, files in os.walk(directory):
        rel = os.path.relpath(base, directory)
        if rel != ".":
            tree.dir(rel)
        for name in files:
            with open(os.path.join(base, name), "rb") as f:
                tree.file(name if rel == "." else f"{rel}/{name}", f.read())
    with open(out_path, "wb") as f:
        f.write(layer_tar(tree, epoch))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--source", default="")
    args = parser.parse_args()
    root = os.path.abspath(args.root)

    commit, epoch, version = git_facts(root, os.environ.get("SOURCE_DATE_EPOCH"))
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    settings, trees = image_trees(root, args.bin_dir)

    out = os.path.abspath(args.out)
    layout = os.path.join(out, "oci")
    shutil.rmtree(layout, ignore_errors=True)
    blobs = Blobs(layout)
    # Two layers: the libraries and system files change with the distribution, the binaries
    # with every commit.
    layers, diff_ids, history = [], [], []
    for tree, what in zip(trees, ["shared libraries and system files", "binaries"]):
        data = layer_tar(tree, epoch)
        diff_ids.append("sha256:" + hashlib.sha256(data).hexdigest())
        layers.append(blobs.put("application/vnd.oci.image.layer.v1.tar+gzip", gzip_bytes(data)))
        history.append({"created": created, "created_by": f"tools/image/build_image.py: {what}"})

    # The Dockerfile's labels, with the values its build arguments stand for.
    labels = dict(settings["labels"])
    labels.update({
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.revision": commit,
        "org.opencontainers.image.source": args.source or "unknown",
        "org.opencontainers.image.version": version,
    })
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {
            "User": settings["user"],
            "Env": settings["env"],
            "Cmd": settings["cmd"],
            "WorkingDir": settings["workdir"],
            "ExposedPorts": {port: {} for port in settings["ports"]},
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_descriptor = blobs.put("application/vnd.oci.image.config.v1+json",
                                  canonical_json(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_descriptor,
        "layers": layers,
        "annotations": labels,
    }
    manifest_descriptor = blobs.put("application/vnd.oci.image.manifest.v1+json",
                                    canonical_json(manifest))
    manifest_descriptor["annotations"] = {
        "org.opencontainers.image.ref.name": version,
        "io.containerd.image.name": f"techtrade:{version}",
    }
    manifest_descriptor["platform"] = {"architecture": "amd64", "os": "linux"}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [manifest_descriptor]}
    with open(os.path.join(layout, "index.json"), "wb") as f:
        f.write(canonical_json(index))
    with open(os.path.join(layout, "oci-layout"), "wb") as f:
        f.write(canonical_json({"imageLayoutVersion": "1.0.0"}))

    tar_directory(layout, os.path.join(out, "techtrade.oci.tar"), epoch)
    digest = manifest_descriptor["digest"]
    with open(os.path.join(out, "digest"), "w", encoding="utf-8") as f:
        f.write(digest + "\n")
    size = sum(layer["size"] for layer in layers) + config_descriptor["size"]
    unpacked = sum(len(data) for tree in trees
                   for kind, data, _ in tree.entries.values() if kind == "file")
    print(f"image: techtrade:{version} ({commit[:12]}, created {created})")
    print(f"image: {size / 2**20:.1f} MiB compressed, {unpacked / 2**20:.1f} MiB unpacked")
    print(f"image: {layout} and {os.path.join(out, 'techtrade.oci.tar')}")
    print(digest)


if __name__ == "__main__":
    main()
