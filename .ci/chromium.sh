#!/usr/bin/env bash
# Headless Chromium and its WebDriver for the browser tests (tests/browser): Debian's
# `chromium` and `chromium-driver`, installed with apt-get when /usr/bin/chromium or
# /usr/bin/chromedriver is missing.
#
# Sourced (by .ci/test):
#     source .ci/chromium.sh
#     tower_oidc_chromium_install
#
# Run directly, it installs and prints the versions.

tower_oidc_chromium_install() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
        return 0
    fi
    printf '[chromium] installing chromium and chromium-driver\n' >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    tower_oidc_chromium_install
    /usr/bin/chromium --version
    /usr/bin/chromedriver --version
fi
