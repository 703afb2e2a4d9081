#!/usr/bin/env bash
# Install classic Motia (npm `motia@<version>`) into bench/.motia-classic (git-ignored) for the
# side-by-side scenarios, plus the Python virtualenv its Python steps need (python_modules, with
# jsonschema, which is all Motia's Python runner imports).
#
# Never fails the build: the bench reports a failed install (bench/.motia-classic/status and
# install.log) and runs everything else.
#   usage: bench/install_classic.sh <version>     env: PYTHON (python3)
set -u
version=${1:?usage: install_classic.sh <motia version>}
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/.motia-classic"
stamp="$dir/.installed-$version"
mkdir -p "$dir"
[ -f "$stamp" ] && exit 0
rm -f "$dir"/.installed-* "$dir/status"

echo ">> installing classic Motia (npm motia@$version) into bench/.motia-classic"
redis_bin=$(command -v redis-server || echo /usr/bin/redis-server)
(
  set -e
  cd "$dir"
  [ -f package.json ] || echo '{ "name": "motia-classic-bench", "private": true }' > package.json
  # REDISMS_*: use the apt redis-server; without it redis-memory-server tries to download and build Redis
  REDISMS_SYSTEM_BINARY="$redis_bin" REDISMS_DISABLE_POSTINSTALL=1 MOTIA_ANALYTICS_DISABLED=true \
    npm install --save-exact --no-audit --no-fund --loglevel=error "motia@$version"
  test -x node_modules/.bin/motia
  [ -x python_modules/bin/python ] || "${PYTHON:-python3}" -m venv python_modules
  python_modules/bin/python -m pip install -q --disable-pip-version-check jsonschema
) > "$dir/install.log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
  echo ok > "$dir/status"
  touch "$stamp"
else
  echo "failed (exit $rc): $(grep -v '^\s*$' "$dir/install.log" | tail -n 3 | tr '\n' ' ')" > "$dir/status"
  echo ">> classic Motia did not install; the bench will say why and run without it: $(cat "$dir/status")"
fi
exit 0
