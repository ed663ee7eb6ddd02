#!/usr/bin/env bash
# Install srchallenge for running (default) or for testing (--test) on a fresh Debian machine.
# torch==2.13.0 goes first, from pip's configured index or TORCH_INDEX_URL (e.g. PyTorch's CPU index,
# https://download.pytorch.org/whl/cpu); the script then says which build it got, CPU or CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

$PYTHON -m pip install --quiet ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0
$PYTHON -c 'import torch; print(f"torch {torch.__version__}:", "CPU build" if torch.version.cuda is None else f"CUDA {torch.version.cuda} build")'
# The code sandbox (worker/sandbox) needs util-linux's unshare/setpriv and libseccomp (through pyseccomp).
if ! ldconfig -p | grep -q 'libseccomp\.so\.2' || ! command -v setpriv >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp2 util-linux >/dev/null
  else
    echo "libseccomp2 and util-linux are needed by the code sandbox: install them (root) and re-run" >&2
    exit 1
  fi
fi
if [ "${1:-}" = "--test" ]; then
  if ! command -v redis-server >/dev/null || ! command -v chromium >/dev/null || ! command -v pg_ctlcluster >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server chromium postgresql >/dev/null
    else
      echo "redis-server, chromium and postgresql are needed: install them (root) and re-run" >&2
      exit 1
    fi
  fi
  $PYTHON -m pip install --quiet -e '.[test]'
else
  $PYTHON -m pip install --quiet -e '.[demo]'
fi
