#!/usr/bin/env bash
# Installs the real tools the tests talk to (rpm, rpmbuild, zypper, createrepo_c, dpkg-deb,
# compressors for rotated logs and repository metadata, faketime for the demo) and zlib's headers
# and OpenSSL's (the CZlib and CCrypto modules: TidemarkRepo's gzip and SHA-256). Idempotent; needs root or sudo.
set -euo pipefail
pkgs=(curl sqlite3 rpm zypper createrepo-c dpkg-dev xz-utils bzip2 zstd gzip faketime tzdata coreutils postgresql zlib1g-dev libssl-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# A real openQA web UI and openqa-cli (Tests/TidemarkTestSupport/OpenQAServer.swift; about 330
# packages), and setfacl (acl), with which the test PostgreSQL's socket directory is opened to openQA's
# daemon user geekotest only. Without recommends: the web UI starts (libdbd-pg-perl comes in as a
# dependency of libmojo-pg-perl; apache2, apparmor and logrotate are not needed on loopback). The
# lock timeout lets it wait for another apt-get instead of failing.
openqa_pkgs=(openqa openqa-client acl)
openqa_missing=()
for p in "${openqa_pkgs[@]}"; do dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" || openqa_missing+=("$p"); done
if ((${#openqa_missing[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${openqa_missing[@]}" >/dev/null
fi
# Python tools: the OpenAPI validator the server tests run, and schemathesis for
# scripts/openapi-check.sh (fuzzes a live server against its own OpenAPI document).
python3 -c 'import openapi_spec_validator' 2>/dev/null || python3 -m pip install -q openapi-spec-validator
command -v schemathesis >/dev/null || python3 -m pip install -q schemathesis
command -v pyenv >/dev/null && pyenv rehash 2>/dev/null || true
