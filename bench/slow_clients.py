#!/usr/bin/env python3
"""Slow clients against a running wisp-server (issue 11), loopback only, bounded in time.

Measures the latency of ordinary requests (a fresh connection per GET of a channel manifest) on
their own, then while SLOW connections dribble a request one byte a second: half of them a
request header that never ends, half a :predict body that never ends. Reports both latency
distributions, how many slow connections the server closed and when (its header and body read
timeouts should close every one), and any failed ordinary request. Exit status 1 when an
ordinary request failed or a slow connection was still open at the end. Not a test: figures for
the closing note (bench/slow_clients.sh starts the server and calls this).

  slow_clients.py --url http://127.0.0.1:PORT --model NAME [--slow 1000] [--baseline 10]
                  [--hold 60] [--mode header|body|both]
"""
import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from urllib.parse import urlsplit


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


async def probe_once(host, port, path):
    """One GET on a fresh connection; returns (seconds, status) or raises."""
    t0 = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return time.perf_counter() - t0, status


async def probe_loop(host, port, path, stop, out):
    """Ordinary requests back to back until `stop` is set; appends (time, latency, status|error)."""
    while not stop.is_set():
        t = time.monotonic()
        try:
            dt, status = await probe_once(host, port, path)
            out.append((t, dt, status))
        except Exception as e:  # noqa: BLE001 - a failed request is a figure, not a crash
            out.append((t, None, f"{type(e).__name__}: {e}"))
        await asyncio.sleep(0.01)


async def probe_process(url, model, seconds):
    """Ordinary requests for `seconds` in a child process (its own event loop and interpreter, so
    the slow clients' loop in this process adds nothing to the latency measured); its samples."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--url", url, "--model", model, "--probe-only", str(seconds),
        stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return [tuple(x) for x in json.loads(out)]


async def probe_only(host, port, path, seconds):
    stop, out = asyncio.Event(), []
    task = asyncio.create_task(probe_loop(host, port, path, stop, out))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    print(json.dumps(out))
    return 0


async def slow_client(host, port, head, stop, result):
    """Sends `head`, then one byte a second until the server closes or answers."""
    opened = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
    except Exception as e:  # noqa: BLE001
        result.update(outcome="connect failed", error=f"{type(e).__name__}: {e}")
        return
    result["connected"] = time.monotonic() - opened
    try:
        writer.write(head)
        await writer.drain()
        while not stop.is_set():
            try:
                data = await asyncio.wait_for(reader.read(4096), 1.0)
            except asyncio.TimeoutError:
                writer.write(b"a")
                await writer.drain()
                continue
            if data and "status" not in result and data.startswith(b"HTTP/1.1 "):
                result["status"] = int(data.split(b" ", 2)[1])
            if not data:
                result.update(outcome="closed by server", after=time.monotonic() - opened)
                return
        result["outcome"] = "still open"
    except (ConnectionError, OSError) as e:
        result.update(outcome="closed by server", after=time.monotonic() - opened,
                      error=type(e).__name__)
    finally:
        writer.close()


def summarize(name, samples):
    ok = [dt * 1000 for _, dt, st in samples if dt is not None and st == 200]
    bad = [st for _, dt, st in samples if dt is None or st != 200]
    line = (f"{name:<22} {len(ok):6d} ok {len(bad):4d} failed   p50 {percentile(ok, 50):7.2f} ms"
            f"   p99 {percentile(ok, 99):7.2f} ms   max {max(ok) if ok else float('nan'):7.2f} ms")
    return line, ok, bad


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--slow", type=int, default=1000)
    ap.add_argument("--baseline", type=float, default=10)
    ap.add_argument("--hold", type=float, default=60, help="seconds to wait for the server to close them")
    ap.add_argument("--mode", choices=["header", "body", "both"], default="both")
    ap.add_argument("--probe-only", type=float, help=argparse.SUPPRESS)
    a = ap.parse_args()
    u = urlsplit(a.url)
    host, port = u.hostname, u.port
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loopback only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.slow + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.slow + 1000), hard))
    path = f"/v1/models/{a.model}/channels/stable"
    if a.probe_only is not None:
        return await probe_only(host, port, path, a.probe_only)
    header_head = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode()
    body_head = (f"POST /v1/models/{a.model}/versions/1:predict HTTP/1.1\r\nHost: {host}\r\n"
                 "Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n").encode()

    baseline = await probe_process(a.url, a.model, a.baseline)

    stop_slow = asyncio.Event()
    results = [dict(kind=("header" if a.mode == "header" or (a.mode == "both" and i % 2 == 0)
                          else "body")) for i in range(a.slow)]
    t_open = time.monotonic()
    slow = []
    for i, r in enumerate(results):  # in waves, so the listen backlog never overflows
        head = header_head if r["kind"] == "header" else body_head
        slow.append(asyncio.create_task(slow_client(host, port, head, stop_slow, r)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)
    # Ordinary requests until the slow connections should all be closed (or --hold is over).
    probe = asyncio.create_task(probe_process(a.url, a.model, a.hold - (time.monotonic() - t_open)))
    deadline = t_open + a.hold
    while time.monotonic() < deadline and not all(t.done() for t in slow):
        await asyncio.sleep(0.5)
    during = await probe
    # Ordinary latency is compared while every slow connection was still being held open.
    first_close = min((r["after"] for r in results if "after" in r), default=a.hold)
    stop_slow.set()
    await asyncio.gather(*slow)

    print(f"wisp-server at {a.url}: {a.slow} slow connections ({a.mode}), one byte a second")
    held = [s for s in during if s[0] < t_open + first_close]
    lines = [summarize("alone", baseline), summarize("with slow clients", held),
             summarize("until all closed", during)]
    for line, _, _ in lines:
        print("  " + line)
    base_ok, held_ok = lines[0][1], lines[1][1]
    if base_ok and held_ok:
        print(f"  ratio with/alone: p50 {percentile(held_ok, 50) / percentile(base_ok, 50):.2f}x"
              f"  p99 {percentile(held_ok, 99) / percentile(base_ok, 99):.2f}x")
    failed = lines[0][2] + lines[2][2]
    for f in sorted(set(map(str, failed)))[:5]:
        print(f"  failed ordinary request: {f}")
    for kind in ("header", "body"):
        rs = [r for r in results if r["kind"] == kind]
        if not rs:
            continue
        closed = [r["after"] for r in rs if r.get("outcome") == "closed by server"]
        statuses = sorted({r.get("status") for r in rs if r.get("status")})
        other = sorted({r.get("outcome", "?") for r in rs} - {"closed by server"})
        print(f"  slow {kind:<6}: {len(rs)} opened, {len(closed)} closed by the server"
              f" (after {percentile(closed, 0):.1f}-{percentile(closed, 100):.1f} s, median"
              f" {statistics.median(closed) if closed else float('nan'):.1f} s)"
              f"{', replies ' + str(statuses) if statuses else ''}"
              f"{', also: ' + ', '.join(other) if other else ''}")
    still_open = sum(r.get("outcome") != "closed by server" for r in results)
    ok = not failed and still_open == 0
    print("  PASS" if ok else f"  FAIL: {len(failed)} ordinary requests failed, "
          f"{still_open} slow connections not closed by the server")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
