"""One turn, the same path for every way in, and when turns are taken. Uses listen and the
mind, skills, engines, audio and below; the pipeline and the servers use it.

request.py  what a turn carries: Request (what was said, whole, and where from),
            Outcome, TurnResult, and one error type per stage (STT, LLM, TTS)
router.py   where a turn is decided: ignore, stop, wake, skill, memory or the model;
            and `finish`, which keeps history, facts and the voice's baseline
reply.py    the reply's sentences, from the model or known exactly, on their worker
speaker.py  each sentence synthesised, at the volume, played, and what was heard
runner.py   the engines and their workers; `respond` runs one request through it all
load.py     a runner with what the configuration asks for
taking.py   when the user's turn is over, and what happens to the reply meanwhile
ringer.py   timers and reminders said aloud in a gap in the conversation
once.py     one turn in a process of its own: `voiced ask`, `respond` and `say`
"""
