"""Measuring: the benchmarks, the soak and the dialogue check, run as a user would run
voiced (as a process, on files or real sound servers). Uses everything below the
service; nothing in voiced uses it.

bench.py      `voiced bench`: which runs, side by side, and the report and chart
prompts.py    what is played: recordings, questions in the voice, noise, hesitations
recording.py  how a recording is read: where speech ends, when a reply sounds and stops
loop.py       `voiced run` as a child process: its CPU, memory and turn log
files.py      the turns of a run over the prompts: latency, stages, cut-offs
barge_in.py   the live barge-in scenes on devices, and their figures
devices.py    the prompts and scenes through a real sound server
wake.py       the acoustic wake word: calls answered, the room never heard, idle CPU
soak.py       `voiced soak`: hundreds of turns, memory and latency over time
dialogue.py   `voiced dialogue`: what each model says, typed and spoken
memory.py     `voiced memory check`: things said in passing, asked after a restart
child.py      a check's part in a process of its own, as after a restart
soundroom.py  a private PulseAudio or PipeWire with null sinks, for the device runs
"""
