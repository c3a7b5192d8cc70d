"""A worker of a shared hyper-parameter study: ``python -m driftloop.train.search_worker
SPEC_JSON FRAME_PARQUET STORAGE_URL STUDY FOLDER DEADLINE EVAL_FRACTION`` (started by
driftloop.train.search; on Argo, one pod each)."""

from __future__ import annotations

import sys
from pathlib import Path

from driftloop.config import ModelSpec
from driftloop.train.search import run_worker


def main(argv: list[str]) -> int:
    spec_path, frame_path, storage_url, study, folder, deadline, eval_fraction = argv
    spec = ModelSpec.model_validate_json(Path(spec_path).read_text())
    run_worker(spec, Path(frame_path), storage_url, study, Path(folder),
               float(deadline) if deadline else None, float(eval_fraction))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
