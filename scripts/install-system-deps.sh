#!/usr/bin/env bash
# Installs the Debian packages the tests use as real protocol peers. Idempotent: packages
# already present are not fetched again. Needs root (as on CI) or sudo.
set -euo pipefail
# A Japanese font, so the dashboard's screenshots read; PostgreSQL with PostGIS and NATS (JetStream) for scale-out.
PACKAGES=(mosquitto chromium fonts-ipafont-gothic postgresql-15 postgresql-15-postgis-3 nats-server proj-data)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "not root and no sudo: install these Debian packages yourself: ${missing[*]}" >&2
        echo "(futago runs without them: the scenarios fall back to in-process delivery; some tests skip)" >&2
        exit 0
    fi
    SUDO="sudo"
fi
skip() {
    # apt may be busy (another apt or unattended-upgrades holds its lock), offline, or without these packages:
    # futago itself does not need them, so the set-up goes on and says what is missing.
    echo "warning: could not install the Debian packages ${missing[*]} ($1)" >&2
    echo "(futago runs without them: the scenarios fall back to in-process delivery; some tests skip)." >&2
    echo "Install them later with: bash scripts/install-system-deps.sh" >&2
    exit 0
}
echo "installing Debian packages: ${missing[*]}"
echo "  updating apt's package lists"
$SUDO apt-get update -qq || skip "apt-get update failed"
echo "  apt-get install (chromium and PostgreSQL are large: a few minutes on a slow link)"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || skip "apt-get install failed"
# The tests start their own brokers on free ports; the packaged services are not needed.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true; fi
