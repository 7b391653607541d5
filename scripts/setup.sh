#!/usr/bin/env bash
# Installs everything quest needs on a fresh Debian 12, and nothing twice:
# Debian packages (compiler, CMake, Ninja, and every library, found by
# find_package) and the project's Python venv (.venv) for reports and plots.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build git
  libhwy-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  python3 python3-venv python3-pip
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

# Python venv for the PyPI parts (numpy and matplotlib for reports and plots).
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import numpy, matplotlib" 2>/dev/null; then
  echo "setup: installing numpy and matplotlib into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check numpy matplotlib
fi
