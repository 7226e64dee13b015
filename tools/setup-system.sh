#!/usr/bin/env bash
# Install the Debian packages given as arguments if any is missing (as root), or print the
# exact command to run (as anyone else). Quick no-op when everything is there.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then missing+=(python3-venv); fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: missing Debian packages: ${missing[*]}" >&2
  echo "setup: install them with:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
