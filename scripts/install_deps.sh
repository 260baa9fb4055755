#!/usr/bin/env bash
# Installs what ivkit's build, tests, benchmarks and examples need from Debian 12's packages.
# Uses sudo when not root; does nothing when everything is already installed.
set -euo pipefail
packages=(cmake g++ make python3 python3-dev python3-numpy python3-pybind11 pybind11-dev python3-pytest python3-sklearn python3-venv python3-pip python3-setuptools python3-wheel libeigen3-dev libxsimd-dev doctest-dev libbenchmark-dev ccache libopenmpi-dev openmpi-bin zlib1g-dev libsndfile1-dev pkg-config libcli11-dev clang libclang-rt-14-dev sox g++-aarch64-linux-gnu qemu-user)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "ivkit: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
