#!/usr/bin/env python3
"""Reads a render as `kubectl create --dry-run=client -o json` prints it (one JSON object per
resource, or a List) on stdin, for k8s-check.sh:

  render.py namespaces   the namespaces its objects are in, one line
  render.py pods         a List of Pods, one per pod template (Deployment, Job, ...)

Pod Security admission enforces on Pods only (workloads just get warnings), so k8s-check.sh
creates these Pods with a server-side dry run to prove each template is admitted.
"""

import json
import sys

# kind -> path from the object to its pod template.
TEMPLATE_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def read_objects(text):
    decoder = json.JSONDecoder()
    objects, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            break
        obj, pos = decoder.raw_decode(text, pos)
        objects.extend(obj.get("items", []) if obj.get("kind") == "List" else [obj])
    return objects


def pods(objects):
    result = []
    for obj in objects:
        path = TEMPLATE_PATHS.get(obj.get("kind"))
        if path is None:
            continue
        template = obj
        for key in path:
            template = template.get(key, {})
        meta = obj["metadata"]
        result.append({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{obj['kind'].lower()}-{meta['name']}",
                "namespace": meta.get("namespace", "default"),
                "labels": template.get("metadata", {}).get("labels", {}),
                "annotations": template.get("metadata", {}).get("annotations", {}),
            },
            "spec": template.get("spec", {}),
        })
    return result


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("namespaces", "pods"):
        print(__doc__, file=sys.stderr)
        return 2
    objects = read_objects(sys.stdin.read())
    if sys.argv[1] == "namespaces":
        names = {o["metadata"].get("namespace") for o in objects} - {None}
        names |= {o["metadata"]["name"] for o in objects if o.get("kind") == "Namespace"}
        print(" ".join(sorted(names)))
        return 0
    items = pods(objects)
    if not items:
        print("render.py: no pod templates in the render", file=sys.stderr)
        return 1
    json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
