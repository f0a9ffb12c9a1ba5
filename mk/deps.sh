#!/usr/bin/env bash
# Installs, in one apt-get call, the Debian packages whose check fails.
# Arguments: CHECK=PACKAGES pairs; CHECK is a command name, or "py:MODULE"
# for a Python module of python3; PACKAGES is comma-separated.
set -euo pipefail
missing=()
for pair in "$@"; do
  check=${pair%%=*}
  pkgs=${pair#*=}
  case $check in
    py:*) python3 -c "import ${check#py:}" 2>/dev/null && continue ;;
    *) command -v "$check" >/dev/null 2>&1 && continue ;;
  esac
  IFS=, read -r -a list <<<"$pkgs"
  missing+=("${list[@]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
