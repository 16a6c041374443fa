#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Raw JSON-RPC client for the integration tests (docs/rpc.md framing:
one JSON object per line over a Unix stream socket).

  rpc.py SOCK call METHOD [PARAMS-JSON]   one request; prints the response line
  rpc.py SOCK raw LINE                    sends LINE (+ '\\n'); prints the answer
  rpc.py SOCK oversize [BYTES]            sends a line of BYTES (default 1 MiB
                                          + 4 KiB) without a newline first;
                                          prints the answer, then CLOSED if
                                          vesperd hung up, else OPEN
  rpc.py SOCK unterminated LINE           sends LINE without a newline, then
                                          shuts its sending side (end of
                                          input); prints the answer, or EOF
                                          if there was none
  rpc.py SOCK hold STOPFILE OUTFILE       a second client: one connection,
                                          a switch.list every 0.1 s until
                                          STOPFILE exists; writes
                                          "answered N of M" to OUTFILE; exit 0
                                          only if every request was answered
                                          with a result and a matching id
  rpc.py SOCK flood METHOD SECONDS [IDLEN]
                                          writes METHOD requests as fast as
                                          the socket takes them for SECONDS,
                                          never reading an answer (with
                                          IDLEN, each has a string id of that
                                          many bytes, which the answer
                                          echoes: fewer, larger answers fill
                                          vesperd's queue sooner); prints
                                          "sent N CLOSED SECS EPOCH" if
                                          vesperd hung up SECS s after the
                                          start, at time EPOCH
                                          on it, else "sent N OPEN"
  rpc.py SOCK fill OUTFILE RELEASE STOP   opens connections, each answering
                                          one switch.list, until vesperd
                                          refuses one; writes "held N" and the
                                          refusal line to OUTFILE; closes one
                                          connection once the file RELEASE
                                          exists ("released" to OUTFILE), all
                                          once STOP exists
  rpc.py SOCK latency N                   N switch.list calls 0.1 s apart on
                                          one connection; prints the slowest
                                          answer in ms ("max_ms M"); every
                                          answer must be a result with the
                                          request's id, else it prints
                                          "BAD ANSWER ..." and exits 3
  rpc.py SOCK window N WINDOW IDLEN       pipelines N switch.list requests
                                          with string ids of IDLEN bytes,
                                          WINDOW of them unanswered at a
                                          time, reading every answer; prints
                                          "answered K of N OPEN" or
                                          "... CLOSED" if vesperd hung up
  rpc.py SOCK acceptflood SECONDS PROCS   takes every free connection but
                                          one, then PROCS processes connect
                                          and close as fast as they can for
                                          SECONDS (each refused: all slots
                                          taken) while the one left asks
                                          switch.list every 0.05 s; prints
                                          "held H connects C max_ms M" (or
                                          "BAD ANSWER ..." and exit 3, as
                                          latency)
  rpc.py SOCK owners PORT DIR N           capture ownership: N connections each
                                          run a 1-frame capture of PORT into
                                          DIR and stay open once it is done
                                          (vesperd keeps the ended captures
                                          for them); one more starts an
                                          endless capture and closes; prints
                                          "ended N", "started ID", then
                                          "gone ID" if vesperd ended it within
                                          5 s, else "running ID"
Exit status 3 when the socket cannot be reached or no answer came in time.
"""
import json
import os
import socket
import sys
import time

TIMEOUT = 10.0


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


def read_line(s, buf):
    """Returns (line, rest) or (None, buf) on EOF."""
    while b"\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    return line, rest


class Conn:
    """One connection, requests answered in order."""

    def __init__(self, path):
        self.s = connect(path)
        self.buf = b""
        self.next_id = 1

    def call(self, method, params):
        self.next_id += 1
        self.s.sendall(json.dumps({"jsonrpc": "2.0", "id": self.next_id,
                                   "method": method,
                                   "params": params}).encode() + b"\n")
        line, self.buf = read_line(self.s, self.buf)
        if line is None:
            raise ConnectionResetError("vesperd closed the connection")
        r = json.loads(line)
        if "result" not in r:
            raise RuntimeError(f"{method}: {r.get('error')}")
        return r["result"]


def owners(path, port, d, n):
    conns = []
    for i in range(n):
        c = Conn(path)
        cid = c.call("capture.start", {"port": port, "count": 1,
                                       "file": f"{d}/own{i}.pcap"})["id"]
        deadline = time.time() + 10
        while not c.call("capture.status", {"id": cid})["done"]:
            if time.time() > deadline:
                print(f"capture {cid} not done")
                return 1
            time.sleep(0.05)
        conns.append(c)
    print(f"ended {n}")
    c = Conn(path)
    cid = c.call("capture.start", {"port": port,
                                   "file": f"{d}/own-endless.pcap"})["id"]
    print(f"started {cid}")
    c.s.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        kept = conns[0].call("capture.list", {})["captures"]
        if not any(k["id"] == cid and not k["done"] for k in kept):
            print(f"gone {cid}")
            return 0
        time.sleep(0.1)
    print(f"running {cid}")
    return 1


def hold_until_refused(path):
    """Opens connections, each answering one switch.list, until vesperd
    refuses one; returns them and the refusal line ("EOF" if none)."""
    held, refusal = [], "none"
    req = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "switch.list",
                      "params": {}}).encode() + b"\n"
    while len(held) < 1000:
        c = connect(path)
        try:
            c.sendall(req)
            line, _ = read_line(c, b"")
        except (BrokenPipeError, ConnectionResetError):
            line, _ = read_line(c, b"")  # the reason may wait unread
        if line is None or b'"result"' not in line:
            refusal = "EOF" if line is None else line.decode(errors="replace")
            c.close()
            break
        held.append(c)
    return held, refusal


class BadAnswer(Exception):
    """An answer that is not the result of the request it answers."""


def worst_answer(s, gap, n=None, deadline=None):
    """switch.list on s every `gap` s, n times or until `deadline`; the
    slowest answer in seconds, None if vesperd hung up.  Each answer must
    be a result (no error) carrying the id of the request it timed, else
    BadAnswer."""
    worst, buf, i = 0.0, b"", 0
    while (n is None or i < n) and (deadline is None or time.time() < deadline):
        i += 1
        rid = 5000 + i
        t0 = time.time()
        s.sendall(json.dumps({"jsonrpc": "2.0", "id": rid,
                              "method": "switch.list"}).encode() + b"\n")
        line, buf = read_line(s, buf)
        if line is None:
            return None
        worst = max(worst, time.time() - t0)
        try:
            r = json.loads(line)
        except ValueError:
            raise BadAnswer(f"request {rid}: not JSON: {line[:200]!r}")
        if not isinstance(r, dict) or r.get("id") != rid or \
                "result" not in r or "error" in r:
            raise BadAnswer(f"request {rid}: answered {line[:200]!r}")
        time.sleep(gap)
    return worst


def fill(path, out, release, stop):
    held, refusal = hold_until_refused(path)
    with open(out, "w") as f:
        f.write(f"held {len(held)}\n{refusal}\n")
    while not os.path.exists(release) and not os.path.exists(stop):
        time.sleep(0.05)
    if held:
        held.pop().close()
    with open(out, "a") as f:
        f.write("released\n")
    while not os.path.exists(stop):
        time.sleep(0.05)
    for c in held:
        c.close()
    return 0


def window(path, n, win, idlen):
    s = connect(path)
    s.settimeout(30)
    req = [json.dumps({"jsonrpc": "2.0", "id": f"{i:08d}" + "i" * idlen,
                       "method": "switch.list"}).encode() + b"\n"
           for i in range(min(n, 2))]
    sent = answered = 0
    buf, state = b"", "OPEN"
    try:
        while answered < n:
            while sent < n and sent - answered < win:
                s.sendall(req[sent % len(req)])
                sent += 1
            line, buf = read_line(s, buf)
            if line is None:
                state = "CLOSED"
                break
            if b'"result"' not in line:
                print(f"error answer: {line[:200]!r}")
                break
            answered += 1
    except (BrokenPipeError, ConnectionResetError):
        state = "CLOSED"
    print(f"answered {answered} of {n} {state}")
    return 0 if answered == n else 1


def acceptflood(path, secs, procs):
    probe = connect(path)
    held, _ = hold_until_refused(path)
    deadline = time.time() + secs
    kids = []
    for _ in range(procs):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            n = 0
            while time.time() < deadline:
                try:
                    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    c.connect(path)
                    c.close()
                    n += 1
                except OSError:
                    pass
            os.write(w, str(n).encode())
            os._exit(0)
        os.close(w)
        kids.append((pid, r))
    bad = None
    try:
        worst = worst_answer(probe, 0.05, deadline=deadline)
    except BadAnswer as e:
        worst, bad = None, e
    connects = 0
    for pid, r in kids:
        os.waitpid(pid, 0)
        connects += int(os.read(r, 64) or b"0")
        os.close(r)
    for c in held:
        c.close()
    if bad is not None:
        print(f"BAD ANSWER {bad}")
        return 3
    if worst is None:
        print("EOF")
        return 3
    print(f"held {len(held)} connects {connects} max_ms {worst * 1000:.0f}")
    return 0


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, mode = sys.argv[1], sys.argv[2]
    try:
        s = connect(path)
    except OSError as e:
        print(f"cannot connect to {path}: {e}", file=sys.stderr)
        return 3
    try:
        if mode == "call":
            params = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
            req = {"jsonrpc": "2.0", "id": 7, "method": sys.argv[3],
                   "params": params}
            s.sendall(json.dumps(req).encode() + b"\n")
            line, _ = read_line(s, b"")
            if line is None:
                print("EOF")
                return 3
            print(line.decode(errors="replace"))
            return 0
        if mode == "raw":
            s.sendall(sys.argv[3].encode() + b"\n")
            line, _ = read_line(s, b"")
            if line is None:
                print("EOF")
                return 3
            print(line.decode(errors="replace"))
            return 0
        if mode == "unterminated":
            s.sendall(sys.argv[3].encode())
            s.shutdown(socket.SHUT_WR)
            line, _ = read_line(s, b"")
            print("EOF" if line is None else line.decode(errors="replace"))
            return 0
        if mode == "oversize":
            size = int(sys.argv[3]) if len(sys.argv) > 3 else (1 << 20) + 4096
            # a syntactically plausible request padded past the limit
            head = b'{"jsonrpc":"2.0","id":1,"method":"daemon.info","params":{"x":"'
            body = head + b"A" * (size - len(head))
            try:
                s.sendall(body)
                s.sendall(b'"}}\n')
            except (BrokenPipeError, ConnectionResetError):
                pass  # vesperd may hang up before reading it all
            buf = b""
            line, buf = read_line(s, buf)
            if line is None:
                print("EOF")
                return 3
            print(line.decode(errors="replace"))
            # vesperd must close the connection now
            state = "OPEN"
            deadline = time.time() + 5
            s.settimeout(0.5)
            while time.time() < deadline:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                except (ConnectionResetError, OSError):
                    state = "CLOSED"
                    break
                if not chunk:
                    state = "CLOSED"
                    break
            print(state)
            return 0
        if mode == "flood":
            idlen = int(sys.argv[5]) if len(sys.argv) > 5 else 0
            line = json.dumps({"jsonrpc": "2.0",
                               "id": "i" * idlen if idlen else 1,
                               "method": sys.argv[3]}).encode() + b"\n"
            chunk = line * max(1, 65536 // len(line))
            start = time.time()
            deadline = start + float(sys.argv[4])
            sent, state = 0, "OPEN"
            s.setblocking(False)
            while time.time() < deadline:
                try:
                    sent += s.send(chunk) // len(line)
                except BlockingIOError:
                    time.sleep(0.001)  # vesperd reads no faster: fine
                except (BrokenPipeError, ConnectionResetError):
                    state = "CLOSED"
                    break
            now = time.time()
            print(f"sent {sent} {state} {now - start:.3f} {now:.3f}")
            return 0
        if mode == "fill":
            s.close()
            return fill(path, sys.argv[3], sys.argv[4], sys.argv[5])
        if mode == "window":
            s.close()
            return window(path, int(sys.argv[3]), int(sys.argv[4]),
                          int(sys.argv[5]))
        if mode == "acceptflood":
            s.close()
            return acceptflood(path, float(sys.argv[3]), int(sys.argv[4]))
        if mode == "owners":
            s.close()
            return owners(path, sys.argv[3], sys.argv[4], int(sys.argv[5]))
        if mode == "latency":
            try:
                worst = worst_answer(s, 0.1, n=int(sys.argv[3]))
            except BadAnswer as e:
                print(f"BAD ANSWER {e}")
                return 3
            if worst is None:
                print("EOF")
                return 3
            print(f"max_ms {worst * 1000:.0f}")
            return 0
        if mode == "hold":
            stop, out = sys.argv[3], sys.argv[4]
            sent = answered = 0
            buf = b""
            bad = []
            while not os.path.exists(stop):
                sent += 1
                req = {"jsonrpc": "2.0", "id": 1000 + sent,
                       "method": "switch.list", "params": {}}
                s.sendall(json.dumps(req).encode() + b"\n")
                line, buf = read_line(s, buf)
                if line is None:
                    bad.append(f"request {sent}: connection closed")
                    break
                try:
                    r = json.loads(line)
                except ValueError:
                    bad.append(f"request {sent}: not JSON: {line[:80]!r}")
                    continue
                if r.get("id") == 1000 + sent and "result" in r:
                    answered += 1
                else:
                    bad.append(f"request {sent}: {line[:200]!r}")
                time.sleep(0.1)
            with open(out, "w") as f:
                f.write(f"answered {answered} of {sent}\n")
                for b in bad[:10]:
                    f.write(b + "\n")
            return 0 if sent > 0 and answered == sent else 1
    except socket.timeout:
        print("TIMEOUT")
        return 3
    except (ConnectionResetError, BrokenPipeError) as e:
        print(f"EOF ({e})")
        return 3
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
