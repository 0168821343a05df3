#!/usr/bin/env bash
# Install voiced's systemd unit.
#   scripts/install_service.sh            user unit (the usual way: audio lives in your session)
#   sudo scripts/install_service.sh --system
#                                         system unit for a headless ALSA box (user `voiced`)
#   scripts/install_service.sh --wyoming  user unit for `voiced serve` (Home Assistant's Wyoming)
#   scripts/install_service.sh --render DIR
#                                         only write the units, filled in, into DIR (for checks)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
voiced="$root/.venv/bin/voiced"

render() {  # render TEMPLATE DEST
    sed -e "s|@VOICED@|$voiced|g" -e "s|@ROOT@|$root|g" "$1" > "$2"
}

network() {  # network UNIT_FILE: the drop-in the configuration's network features need
    local dir="$1.d" drop_in
    drop_in="$("$voiced" config drop-in)"
    if [ -n "$drop_in" ]; then
        mkdir -p "$dir" && printf '%s\n' "$drop_in" > "$dir/network.conf"
        echo "network features configured: $dir/network.conf allows them"
    else
        rm -f "$dir/network.conf"
    fi
}

case "${1:-}" in
--render)
    mkdir -p "$2"
    render "$root/config/systemd/voiced.service" "$2/voiced.service"
    render "$root/config/systemd/voiced-system.service" "$2/voiced-system.service"
    render "$root/config/systemd/voiced-wyoming.service" "$2/voiced-wyoming.service"
    ;;
--system)
    [ "$(id -u)" -eq 0 ] || { echo "install_service: --system needs root (sudo)" >&2; exit 1; }
    getent group voiced >/dev/null || groupadd --system voiced
    id voiced >/dev/null 2>&1 || useradd --system --gid voiced --groups audio \
        --home-dir /var/lib/voiced --no-create-home --shell /usr/sbin/nologin voiced
    install -d -m 0755 /etc/voiced
    [ -e /etc/voiced/voiced.toml ] || printf '# see %s/config/voiced.toml for every key\n' "$root" > /etc/voiced/voiced.toml
    render "$root/config/systemd/voiced-system.service" /etc/systemd/system/voiced.service
    network /etc/systemd/system/voiced.service
    systemctl daemon-reload
    systemctl enable --now voiced.service
    echo "installed: /etc/systemd/system/voiced.service (journalctl -u voiced -f to follow it)"
    ;;
"" | --wyoming)
    unit=voiced.service
    [ "${1:-}" = --wyoming ] && unit=voiced-wyoming.service
    dest="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
    mkdir -p "$dest"
    render "$root/config/systemd/$unit" "$dest/$unit"
    [ "$unit" = voiced.service ] && network "$dest/$unit"
    if systemctl --user daemon-reload 2>/dev/null; then
        systemctl --user enable --now "$unit"
        echo "installed: $dest/$unit (journalctl --user -u ${unit%.service} -f to follow it)"
    else
        echo "installed: $dest/$unit; no user systemd here: run"
        echo "  systemctl --user daemon-reload && systemctl --user enable --now ${unit%.service}"
        echo "in your desktop session (on a headless Pi first: loginctl enable-linger $USER)"
    fi
    ;;
*)
    echo "usage: $0 [--system | --wyoming | --render DIR]" >&2
    exit 2
    ;;
esac
