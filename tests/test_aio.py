import asyncio

import pytest

from voiced.aio import within


def test_a_cancellation_that_meets_the_result_is_raised_not_lost():
    # the moment Python 3.11's wait_for gets wrong: the awaited work completes, and the
    # caller is cancelled, in the same turn of the loop (a frame arriving as a daemon stops)
    async def main():
        block = asyncio.get_running_loop().create_future()
        caller = asyncio.create_task(within(block, 10.0))
        await asyncio.sleep(0)
        block.set_result("frame")
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller

    asyncio.run(main())


def test_the_result_or_none_on_a_timeout_and_the_work_is_cancelled():
    async def main():
        assert await within(asyncio.sleep(0, "done"), 1.0) == "done"
        queue: asyncio.Queue[str] = asyncio.Queue()
        assert await within(queue.get(), 0.01) is None
        queue.put_nowait("kept")  # a timed-out get took nothing
        assert queue.get_nowait() == "kept"

    asyncio.run(main())
