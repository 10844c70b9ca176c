#!/usr/bin/env bash
# Hashes every file under a directory through one offload batch (sha256 by default) and prints
# "digest  path" lines like sha256sum. Runnable as is:
#   scripts/examples/hash-tree.sh DIR [ALGORITHM]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${1:?usage: hash-tree.sh DIR [sha256|sha512|sha1|md5]}
algorithm=${2:-sha256}
find "$dir" -type f -print0 \
  | python3 -c '
import json, os, sys
for path in sys.stdin.buffer.read().split(b"\0"):
    if path:
        p = os.path.abspath(os.fsdecode(path))
        print(json.dumps({"id": p, "handler": "hash", "input": {"path": p, "algorithm": sys.argv[1]}}))
' "$algorithm" \
  | "$here/../offload" batch - --progress never \
  | python3 -c '
import json, sys
failed = 0
for line in sys.stdin:
    r = json.loads(line)
    if r["state"] == "SUCCEEDED":
        print(r["output"]["digest"] + "  " + r["output"]["path"])
    else:
        failed += 1
        print("hash-tree: " + r["id"] + ": " + r["error"]["message"], file=sys.stderr)
sys.exit(1 if failed else 0)
'
