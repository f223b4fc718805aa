#!/usr/bin/env bash
# Sets up prepsuite in ./.venv on a bare machine: Python packages only, idempotent.
# torch is pinned first: an unpinned torch (pulled in by the `dali` extra) would be the newest,
# and often the CUDA build, several GB. Where the package index offers the CPU build of 2.13.0
# (as on the project's machines and CI), that is what comes. A torch 2.13.0 already in .venv
# (say the CUDA build, on a GPU machine) is kept (see README, "Feeding training").
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test,dali,tensorboard]" "nvidia-dali-cuda120==2.4.0" "pybase64==1.5.1"
# OpenCC's C++ library for the optional `cpp` conversion engine (the default, `pyo3`, comes with pip). Its distribution installs a Python module
# named `opencc`, as opencc-python-reimplemented does, so it goes into a directory of its own that
# the project's environment never imports (the engine runs it in a separate, isolated process).
[ -f .venv/opencc-cpp/opencc/__init__.py ] \
  || .venv/bin/python -m pip install -q --no-deps --target .venv/opencc-cpp "opencc==1.4.2"
.venv/bin/python -c "import prepsuite, jieba, rjieba, opencc, opencc_pyo3, gensim, snakemake, matplotlib, tensorboard
from prepsuite.text.convert import convert_batch_cpp
assert convert_batch_cpp(['漢字']) == ['汉字']" \
  || { echo "setup.sh: installation incomplete" >&2; exit 1; }
