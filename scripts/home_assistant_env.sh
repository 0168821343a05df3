#!/usr/bin/env bash
# A real Home Assistant for the tests, in its own Python 3.13 virtual environment, kept in the
# cache (about 600 MB; 2-3 minutes to install once, nothing after that).
# Usage: scripts/home_assistant_env.sh CACHE_DIR   -> prints the environment's hass, or
# nothing (and why, on stderr) when no Python 3.13 is on this machine.
set -euo pipefail

version=2025.4.4
# what its integrations in the tests would otherwise fetch while starting: the wyoming
# integration's requirement (the version its manifest pins)
extras="wyoming==1.5.4"
env_dir="$1/home-assistant-$version"
if [ -f "$env_dir/.complete" ]; then
    if [ "$(cat "$env_dir/.complete")" != "$extras" ]; then
        "$env_dir/bin/pip" install --quiet $extras >&2
        echo "$extras" >"$env_dir/.complete"
    fi
    echo "$env_dir/bin/hass"
    exit 0
fi
python=""
for candidate in python3.13 /usr/bin/python3.13 /usr/local/bin/python3.13 \
    "$HOME"/.pyenv/versions/3.13*/bin/python3.13 /root/.pyenv/versions/3.13*/bin/python3.13; do
    if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
if [ -z "$python" ]; then
    echo "home_assistant_env: no Python 3.13 here: the tests against a real Home Assistant are skipped" >&2
    exit 0
fi
echo "home_assistant_env: installing Home Assistant $version once (2-3 minutes) into $env_dir" >&2
rm -rf "$env_dir"  # a venv cannot be moved: it is made in place, and marked once complete
"$python" -m venv "$env_dir"
"$env_dir/bin/pip" install --quiet "homeassistant==$version" $extras >&2
echo "$extras" >"$env_dir/.complete"
echo "$env_dir/bin/hass"
