#!/usr/bin/env python3
"""Writes kubeconform JSON schemas from CustomResourceDefinition files:

  crd_schemas.py OUT_DIR CRD_FILE...

One file per served version, OUT_DIR/<group>/<kind>_<version>.json (lower case), for kubeconform's
-schema-location 'OUT_DIR/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'.
Strict as the API server is: an object that declares its properties admits no other (unless the
CRD says x-kubernetes-preserve-unknown-fields), so an unknown or misspelt field fails.
"""

import json
import os
import sys

import yaml


def to_json_schema(node):
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: to_json_schema(v) for k, v in value.items()}
        elif key.startswith("x-kubernetes-"):
            continue
        else:
            out[key] = to_json_schema(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    if ("properties" in node and "additionalProperties" not in node and
            not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir, written = sys.argv[1], 0
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                group, kind = spec["group"], spec["names"]["kind"].lower()
                for version in spec["versions"]:
                    if not version.get("served", True):
                        continue
                    schema = to_json_schema(version["schema"]["openAPIV3Schema"])
                    # metadata is the API server's to check (ObjectMeta), not the CRD's.
                    schema.get("properties", {})["metadata"] = {"type": "object"}
                    target = os.path.join(out_dir, group, f"{kind}_{version['name']}.json")
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "w", encoding="utf-8") as out:
                        json.dump(schema, out)
                    written += 1
    if written == 0:
        print("crd_schemas.py: no CustomResourceDefinition in the files given", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
