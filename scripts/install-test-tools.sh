#!/usr/bin/env bash
# Installs the real tools the tests talk to (rpm, rpmbuild, zypper, createrepo_c, dpkg-deb,
# compressors for rotated logs, faketime for the demo). Idempotent; needs root or sudo.
set -euo pipefail
pkgs=(curl rpm zypper createrepo-c dpkg-dev xz-utils bzip2 zstd gzip faketime tzdata coreutils)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
