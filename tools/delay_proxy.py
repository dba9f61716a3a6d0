#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that delays every chunk in each direction, keeping its order.

For measuring what a distant database costs (e.g. group commit with and without pipelining)
on one machine, with a fixed one-way delay in milliseconds:

    tools/delay_proxy.py 35999 35432 0.25 &     # listen port, target port, one-way delay (ms)
    TECHTRADE_PG_URL=postgresql://techtrade@127.0.0.1:35999 build/bin/registry_bench ...

or, for a link whose speed changes while it runs (the chaos suite's slow links), with a file
holding the delay in milliseconds, re-read at most every 100 ms (missing or empty: 0):

    tools/delay_proxy.py 35999 35432 /tmp/link-delay &
    echo 300 > /tmp/link-delay                  # slow from now on; echo 0 to make it fast again

The proxy's own cost adds to the delay (about 1.8 ms per round trip at 0.25 ms on the 2-core
machine); compare runs through the same proxy, not with runs without it.
"""
import asyncio
import os
import sys
import time


class Delay:
    """The one-way delay in seconds: fixed, or read from a file that may change."""

    def __init__(self, spec):
        self.path = None
        self.seconds = 0.0
        self.checked = 0.0
        self.mtime = None
        try:
            self.seconds = float(spec) / 1000.0
        except ValueError:
            self.path = spec

    def now(self):
        if self.path is None:
            return self.seconds
        now = time.monotonic()
        if now - self.checked > 0.1:
            self.checked = now
            try:
                mtime = os.stat(self.path).st_mtime
                if mtime != self.mtime:
                    self.mtime = mtime
                    with open(self.path) as f:
                        self.seconds = max(0.0, float(f.read().strip() or 0) / 1000.0)
            except (OSError, ValueError):
                pass
        return self.seconds


async def forward(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        try:
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            queue.put_nowait((loop.time() + delay.now(), data))
    finally:
        queue.put_nowait((0, None))
        await asyncio.gather(sender, return_exceptions=True)


async def main(listen_port, target_port, delay):
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(forward(client_reader, server_writer, delay),
                             forward(server_reader, client_writer, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: delay_proxy.py LISTEN_PORT TARGET_PORT ONE_WAY_DELAY_MS|DELAY_FILE")
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), Delay(sys.argv[3])))
