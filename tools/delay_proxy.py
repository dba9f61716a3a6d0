#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that delays every chunk by a fixed time in each direction.

For measuring what a distant database costs (e.g. group commit with and without pipelining)
on one machine:

    tools/delay_proxy.py 35999 35432 0.25 &     # listen port, target port, one-way delay (ms)
    TECHTRADE_PG_URL=postgresql://techtrade@127.0.0.1:35999 build/bin/registry_bench ...

The proxy's own cost adds to the delay (about 1.8 ms per round trip at 0.25 ms on the 2-core
machine); compare runs through the same proxy, not with runs without it.
"""
import asyncio
import sys


async def forward(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    while True:
        data = await reader.read(65536)
        if not data:
            break
        queue.put_nowait((loop.time() + delay, data))
    queue.put_nowait((0, None))
    await sender


async def main(listen_port, target_port, delay):
    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(forward(client_reader, server_writer, delay),
                             forward(server_reader, client_writer, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: delay_proxy.py LISTEN_PORT TARGET_PORT ONE_WAY_DELAY_MS")
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000.0))
