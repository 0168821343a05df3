"""A real Home Assistant on loopback for the tests: its own Python 3.13 environment
(scripts/home_assistant_env.sh, cached), a minimal configuration (http on 127.0.0.1, api,
conversation, intent, an input_boolean and a template light named "Living room lamp"), a
user and a token made through its onboarding API."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

CONFIGURATION = """
homeassistant:
  name: voiced test
  latitude: 52.37
  longitude: 4.89
  elevation: 0
  unit_system: metric
  time_zone: UTC
  country: NL
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
conversation:
intent:
input_boolean:
  living_room_lamp_state:
    name: Living room lamp state
light:
  - platform: template
    lights:
      living_room_lamp:
        friendly_name: "Living room lamp"
        value_template: "{{{{ is_state('input_boolean.living_room_lamp_state', 'on') }}}}"
        turn_on:
          action: input_boolean.turn_on
          target:
            entity_id: input_boolean.living_room_lamp_state
        turn_off:
          action: input_boolean.turn_off
          target:
            entity_id: input_boolean.living_room_lamp_state
"""
LAMP = "light.living_room_lamp"


def hass_program() -> str:
    """Its `hass`, installed once into the cache; skip (saying why) without Python 3.13."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voiced"
    found = subprocess.run(
        [str(ROOT / "scripts" / "home_assistant_env.sh"), str(cache)],
        capture_output=True,
        text=True,
        check=True,
    )
    hass = found.stdout.strip()
    if not hass:
        pytest.skip(found.stderr.strip().splitlines()[-1])
    return hass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HomeAssistant:
    """One running instance: start, stop (to play an outage) and start again."""

    def __init__(self, config_dir: Path) -> None:
        self.hass = hass_program()
        self.python = str(Path(self.hass).parent / "python")  # its own, with aiohttp
        self.config_dir = config_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "configuration.yaml").write_text(CONFIGURATION.format(port=self.port))
        self.process: subprocess.Popen | None = None
        self.token = ""

    def start(self) -> None:
        log = (self.config_dir / "run.log").open("a")
        self.process = subprocess.Popen(
            [self.hass, "-c", str(self.config_dir)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 120
        while True:
            assert self.process.poll() is None, (self.config_dir / "run.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{self.url}/manifest.json", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "Home Assistant did not start"
                time.sleep(0.5)
        if not self.token:
            self.token = self._onboard()
        # its web server answers before it has set everything up: the lamp (and the intents
        # that reach it) exist once it says it is running and the lamp has a state
        while not self._running():
            assert self.process.poll() is None, (self.config_dir / "run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Home Assistant did not finish starting"
            time.sleep(0.5)

    def _running(self) -> bool:
        try:
            config = self._get("/api/config")
            return config.get("state") == "RUNNING" and self.state(LAMP) in ("on", "off")
        except OSError:  # not yet (a 404 for the lamp, or no answer)
            return False

    def _get(self, path: str) -> dict:
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def freeze(self) -> None:
        """Hung: it still accepts connections, and answers nothing (SIGSTOP)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def _onboard(self) -> str:
        """The first user, through the onboarding API, and an access token for it."""
        client = f"{self.url}/"
        user = {"client_id": client, "name": "Test", "username": "test", "language": "en"}
        user["password"] = "test-pass-1234"
        created = self._post("/api/onboarding/users", json.dumps(user).encode(), "application/json")
        form = {
            "grant_type": "authorization_code",
            "code": created["auth_code"],
            "client_id": client,
        }
        data = urllib.parse.urlencode(form).encode()
        tokens = self._post("/auth/token", data, "application/x-www-form-urlencoded")
        return str(tokens["access_token"])

    def _post(self, path: str, data: bytes, kind: str) -> dict:
        request = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": kind}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())

    def state(self, entity: str) -> str:
        return str(self._get(f"/api/states/{entity}")["state"])

    def call(self, domain: str, service: str, entity: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/services/{domain}/{service}",
            data=json.dumps({"entity_id": entity}).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            pass


@pytest.fixture(scope="module")
def home_assistant(tmp_path_factory):
    instance = HomeAssistant(tmp_path_factory.mktemp("home-assistant"))
    instance.start()
    yield instance
    instance.stop()
    shutil.rmtree(instance.config_dir, ignore_errors=True)
