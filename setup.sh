#!/usr/bin/env bash
# Sets up prepsuite in ./.venv on a bare machine: Python packages only, idempotent.
# torch is pinned to the CPU build first: an unpinned torch (pulled in by the `dali` extra)
# would download several GB of CUDA libraries. On a GPU machine, install the CUDA build of
# torch instead before running this (see README, "Feeding training").
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test,dali]"
.venv/bin/python -c "import prepsuite, jieba, opencc, gensim, snakemake" \
  || { echo "setup.sh: installation incomplete" >&2; exit 1; }
