#!/usr/bin/env bash
# Install the Debian packages voiced needs, only those missing.
# Usage: scripts/system_deps.sh runtime|test
#   runtime: PortAudio, a compiler for llama-cpp-python, Python's venv
#   test:    runtime + PulseAudio and PipeWire (virtual devices for the tests), sox, espeak-ng,
#            ffmpeg (for the real Home Assistant)
# As root it uses apt-get; otherwise sudo if it needs no password; otherwise it
# prints the command to run and fails.
set -euo pipefail

want=()
need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || want+=("$1"); }

if ! command -v dpkg-query >/dev/null; then
    echo "system_deps: not a Debian system; install PortAudio, a C++ compiler and cmake yourself" >&2
    exit 0
fi

need libportaudio2
command -v g++ >/dev/null || need g++
command -v make >/dev/null || need make
python3 -c 'import ensurepip, venv' 2>/dev/null || need python3-venv
if [ "${1:-runtime}" = test ]; then
    # PulseAudio and PipeWire (with its PulseAudio server and WirePlumber): the device tests
    # run on both, each a private server with virtual devices
    # ffmpeg: the real Home Assistant's text to speech and Assist pipelines need it
    for pkg in pulseaudio pulseaudio-utils libasound2-plugins alsa-utils sox espeak-ng \
        pipewire pipewire-pulse wireplumber dbus-daemon ffmpeg; do need "$pkg"; done
fi

[ ${#want[@]} -eq 0 ] && exit 0
echo "system_deps: installing ${want[*]}"
if [ "$(id -u)" -eq 0 ]; then
    apt=(apt-get)
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    apt=(sudo apt-get)
else
    echo "system_deps: please run: sudo apt-get install ${want[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${want[@]}" >/dev/null
