#!/usr/bin/env bash
# What release.yml's image job runs after the push: DIR/image.json names the image digest,
# the commit it was built from and the sha256 of the dependency audit (DIR/audit.json) that
# let it out, so the release artifact holds the digest and its audit side by side.
set -euo pipefail
dir=${1:?usage: scripts/release-record.sh DIR}
case "${DIGEST:-}" in
    sha256:[0-9a-f]*) ;;
    *) echo "release-record: DIGEST is not sha256:<hex>" >&2; exit 2 ;;
esac
audit_sha=$(sha256sum "$dir/audit.json" | cut -d' ' -f1)
python3 - "$dir/image.json" "$audit_sha" <<'PY'
import json, os, sys
record = {
    "image": "ghcr.io/driftloop/driftloop-server",
    "digest": os.environ["DIGEST"],
    "commit": os.environ.get("GITHUB_SHA", ""),
    "dependency_audit": "audit.json",
    "dependency_audit_sha256": sys.argv[2],
}
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(record, out, indent=2)
    out.write("\n")
PY
