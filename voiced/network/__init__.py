"""voiced served to others over the network: Home Assistant's Wyoming services (speech to
text, voice, wake word, conversation) and its satellite. Uses the turn path and below;
independent of the service and the measurements.

wyoming.py    `voiced serve`: the Wyoming server
satellite.py  `voiced serve --satellite`: voiced's microphone and speaker for Home Assistant
servers.py    what `voiced serve` runs, until it is stopped
"""
