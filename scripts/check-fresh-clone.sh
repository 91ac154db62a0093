#!/usr/bin/env bash
# A new user's check, as issue 18 asks: a fresh clone of this checkout's HEAD, in a folder with no ../shared
# beside it, set up with the README's own `make install`, its data set cache filled only by
# `futago datasets fetch --from DIR` (DIR: a local copy laid out like the cache, since this machine may be
# offline), then every README example run by the README tests against that cache.
#
#   scripts/check-fresh-clone.sh /path/to/local/data-copy [workdir]
#
# Prints each README test's result; exits non-zero when any fails or the fetch refuses a file.
set -euo pipefail

source_data="$(cd "${1:?usage: $0 DATA_COPY [WORKDIR]}" && pwd)"
workdir="${2:-$(mktemp -d /tmp/futago-fresh.XXXXXX)}"
repo="$(cd "$(dirname "$0")/.." && pwd)"

clone="$workdir/clone/futago"  # ../shared of this folder does not exist: nothing can reach the shared copy
cache="$workdir/cache"
mkdir -p "$workdir/clone"
[ -d "$clone" ] || git clone --quiet "$repo" "$clone"
if [ -e "$workdir/clone/shared" ]; then
    echo "refusing: $workdir/clone/shared exists, the check needs a clone with no ../shared" >&2
    exit 2
fi

cd "$clone"
echo "==> make install in $clone"
make --no-print-directory install
echo "==> filling the cache $cache from $source_data with futago datasets fetch --from"
# each data set the local copy holds (a set it lacks is said, and the tests that need it skip with that reason)
for name in $(.venv/bin/futago datasets list --json | .venv/bin/python -c 'import json, sys; print(*(d["name"] for d in json.load(sys.stdin)))'); do
    FUTAGO_DATA="$cache" .venv/bin/futago datasets fetch "$name" --from "$source_data" || echo "==> $name: not in $source_data"
done
FUTAGO_DATA="$cache" .venv/bin/futago datasets list

echo "==> every README example, against the cache"
FUTAGO_DATA="$cache" .venv/bin/pytest -p no:cacheprovider -q -rA \
    tests/test_readme_blocks.py tests/test_readme_tour.py tests/test_readme_config.py \
    tests/test_readme_privacy.py tests/test_readme_ngsild.py \
    tests/city/test_readme_city.py tests/security/test_readme_security.py
