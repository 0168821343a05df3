"""Drives a real Home Assistant's Assist from its own Python (which carries aiohttp): adds a
Wyoming service through the wyoming integration's config flow (unless it is there already),
makes a pipeline with that service's speech to text and text to speech, and then either

    assist URL TOKEN HOST PORT WAV AGENT REPLY_PATH
        runs a recording through it over the websocket API and fetches the spoken reply;
        AGENT is a conversation entity, or "wyoming" for the service's own agent. Prints
        one JSON object per line: {"entities": [...]}, each pipeline event as it came, then
        {"reply_bytes": N, "content_type": ...};
    satellite URL TOKEN HOST PORT SATELLITE_PORT
        makes that pipeline (with Home Assistant's own agent) the preferred one and adds the
        satellite at HOST:SATELLITE_PORT through the same config flow. Prints
        {"entities": [...]} once its assist_satellite entity is there.

Run with Home Assistant's python; not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import asyncio
import json
import sys
import wave

import aiohttp


def say(record: dict) -> None:
    print(json.dumps(record), flush=True)


async def add_service(session: aiohttp.ClientSession, url: str, host: str, port: int) -> None:
    flow_url = f"{url}/api/config/config_entries/flow"
    async with session.post(flow_url, json={"handler": "wyoming"}) as reply:
        flow = await reply.json()
    async with session.post(f"{flow_url}/{flow['flow_id']}", json={"host": host, "port": port}):
        pass  # "create_entry", or "abort" (already_configured) on a second run


async def wyoming_entities(
    session: aiohttp.ClientSession, url: str, wanted: tuple[str, ...] = ("stt.", "tts.")
) -> list[str]:
    kinds = ("stt", "tts", "conversation", "wake_word", "assist_satellite")
    for _ in range(120):
        async with session.get(f"{url}/api/states") as reply:
            states = await reply.json()
        found = [s["entity_id"] for s in states if s["entity_id"].split(".")[0] in kinds]
        if all(any(e.startswith(kind) for e in found) for kind in wanted):
            return found
        await asyncio.sleep(0.5)
    return found


async def make_pipeline(
    ws: aiohttp.ClientWebSocketResponse, entities: list[str], agent: str
) -> str:
    stt = next(e for e in entities if e.startswith("stt."))
    tts = next(e for e in entities if e.startswith("tts."))
    if agent == "wyoming":
        theirs = "conversation.home_assistant"
        agent = next(e for e in entities if e.startswith("conversation.") and e != theirs)
    pipeline = {
        "name": f"voiced {agent}", "language": "en",
        "conversation_engine": agent, "conversation_language": "en",
        "stt_engine": stt, "stt_language": "en",
        "tts_engine": tts, "tts_language": "en", "tts_voice": None,
        "wake_word_entity": None, "wake_word_id": None,
    }  # fmt: skip
    await ws.send_json({"id": 1, "type": "assist_pipeline/pipeline/create", **pipeline})
    created = await ws.receive_json()
    assert created["success"], created
    return str(created["result"]["id"])


async def signed_in(ws: aiohttp.ClientWebSocketResponse, token: str) -> None:
    await ws.receive_json()
    await ws.send_json({"type": "auth", "access_token": token})
    assert (await ws.receive_json())["type"] == "auth_ok"


async def satellite(url: str, token: str, host: str, port: int, satellite_port: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        await add_service(session, url, host, port)
        entities = await wyoming_entities(session, url)
        async with session.ws_connect(f"{url}/api/websocket") as ws:
            await signed_in(ws, token)
            pipeline = await make_pipeline(ws, entities, "conversation.home_assistant")
            preferred = {"id": 2, "type": "assist_pipeline/pipeline/set_preferred"}
            await ws.send_json(preferred | {"pipeline_id": pipeline})
            assert (await ws.receive_json())["success"]
        await add_service(session, url, host, satellite_port)
        say({"entities": await wyoming_entities(session, url, ("assist_satellite.",))})


async def assist(
    url: str, token: str, host: str, port: int, wav: str, agent: str, out: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        await add_service(session, url, host, port)
        entities = await wyoming_entities(session, url)
        say({"entities": entities})
        with wave.open(wav) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
            audio = w.readframes(w.getnframes())
        async with session.ws_connect(f"{url}/api/websocket") as ws:
            await signed_in(ws, token)
            pipeline = await make_pipeline(ws, entities, agent)
            run = {"id": 2, "type": "assist_pipeline/run", "start_stage": "stt"}
            run |= {"end_stage": "tts", "input": {"sample_rate": 16000}}
            await ws.send_json(run | {"pipeline": pipeline})
            reply_url = ""
            while True:
                message = await ws.receive_json(timeout=120)
                if message.get("type") != "event":
                    continue
                event = message["event"]
                say(event)
                if event["type"] == "run-start":  # the audio, then an empty chunk: its end
                    handler = bytes([event["data"]["runner_data"]["stt_binary_handler_id"]])
                    for start in range(0, len(audio), 2048):
                        await ws.send_bytes(handler + audio[start : start + 2048])
                    await ws.send_bytes(handler)
                elif event["type"] == "tts-end":
                    reply_url = event["data"]["tts_output"]["url"]
                elif event["type"] in ("run-end", "error"):
                    break
        if reply_url:
            async with session.get(url + reply_url) as reply:
                data = await reply.read()
                with open(out, "wb") as f:
                    f.write(data)
                say({"reply_bytes": len(data), "content_type": reply.content_type})


if __name__ == "__main__":
    what, url, token, host, port, *rest = sys.argv[1:]
    if what == "assist":
        asyncio.run(assist(url, token, host, int(port), *rest))
    else:
        asyncio.run(satellite(url, token, host, int(port), int(rest[0])))
