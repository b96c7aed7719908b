#!/usr/bin/env python3
"""Measure what promptdeck costs over a terminal link (DESIGN.md, "The terminal is a network link").

Runs the release binary in a pseudo-terminal against a local mock of the Anthropic
streaming API (127.0.0.1 only) and reports, for a long reply streamed at a paced rate and at
full speed, in a fresh chat and after a 200-message transcript:

  * bytes the app writes to the terminal per streamed token (and the text's own bytes);
  * CPU ms per token (utime+stime from /proc/PID/stat);
  * latency from a token leaving the mock's socket to the screen showing it (marker tokens
    every N tokens, found by a small built-in terminal emulator), median and p95;
  * at full speed, the lag from the stream's end to the screen showing its last token;
  * idle wake-ups per second (context switches of every thread) with nothing happening;
  * time to first frame (spawn to the status line on screen);
  * peak RSS (VmHWM);
  * the socket's own cost: CPU ms per token of the same paced stream read without a
    screen, by `promptdeck ask` (same request path, text to /dev/null) and by curl;
  * where the bytes go: cursor positioning, SGR, other escapes, text (and spaces), controls.

Python 3 standard library only. Usage:

    cargo build --release
    python3 scripts/bench-tty.py                  # one full run, table on stdout
    python3 scripts/bench-tty.py --runs 3 --json  # three runs, JSON (medians and ranges)
    python3 scripts/bench-tty.py --quick          # smoke run (~30 s)

Every measurement window for a stream starts when the mock receives the request and ends
--settle-ms after the later of the stream's end and the last token appearing on screen.
Latency covers the markers that were drawn: at full speed many scroll past between two
frames and are never on screen ("markers never seen"); that is expected, not an error.
"Synchronized frames" counts only frames wrapped in mode 2026 (CSI ?2026h … l); "pty reads"
approximates the number of writes (a read may join two writes that arrive together).
CPU comes from /proc/PID/stat in clock ticks (10 ms); the schedstat row sums the per-thread
run time of the threads alive at both ends of the window (ns, finer, misses exited threads).
The script's own work (emulating the screen) shares the machine's cores with the app.
"""

import argparse
import codecs
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import termios
import fcntl
import struct
import threading
import time
import unicodedata

MODEL = "claude-sonnet-5-5"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --------------------------------------------------------------------------------------------
# Reply text: realistic word pieces, newlines every ~15 tokens, paragraph breaks every ~60,
# and marker words (unique, alphanumeric) every --marker-every tokens for latency.
# --------------------------------------------------------------------------------------------

WORDS = (
    " the", " window", " of", " a", " to", " and", " in", " that", " is", " for", " it",
    " with", " as", " on", " be", " this", " by", " which", " terminal", " stream", " reply",
    " token", " screen", " model", " prompt", " request", " server", " latency", " buffer",
    " user", " message", " line", " text", " render", " frame", " width", " cache", " data",
    " you", " we", " can", " should", " will", " would", " each", " when", " only", " more",
    " one", " two", " three", " time", " over", " under", " network", " session", " history",
    " function", " value", " result", " example", " simple", " large", " small", " first",
)
SUFFIXES = ("ing", "ed", "s", "ly", "er", "tion", "ness", "able", "ment")
PUNCT = (",", ".", ";", ":", " (", ")", " -", "'s", "?")


def marker(prefix, n):
    return f"{prefix}{n:04d}q"


def make_tokens(count, seed, marker_every, marker_prefix):
    """Returns (tokens, {index: marker_text}); the last token is always a marker."""
    rng = random.Random(seed)
    toks, markers = [], {}
    for i in range(count):
        if i == count - 1 or (marker_every and i % marker_every == marker_every - 1):
            m = marker(marker_prefix, len(markers))
            markers[i] = m
            toks.append(" " + m)
        elif i % 60 == 59:
            toks.append("\n\n")
        elif i % 15 == 14:
            toks.append("\n")
        else:
            r = rng.random()
            if r < 0.70:
                w = rng.choice(WORDS)
                if i == 0 or toks[-1].endswith("\n"):
                    w = w.strip().capitalize()
                toks.append(w)
            elif r < 0.85:
                toks.append(rng.choice(SUFFIXES))
            else:
                toks.append(rng.choice(PUNCT))
    return toks, markers


def sse(name, data):
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def reply_events(tokens, msg_id):
    ev = [sse("message_start", {"type": "message_start", "message": {
        "id": msg_id, "type": "message", "role": "assistant", "model": MODEL, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 1, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0}}}),
          sse("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}})]
    body = [sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": t}})
            for t in tokens]
    tail = [sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            sse("message_delta", {"type": "message_delta",
                                  "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                  "usage": {"output_tokens": len(tokens)}}),
            sse("message_stop", {"type": "message_stop"})]
    return ev, body, tail


# --------------------------------------------------------------------------------------------
# /proc readings
# --------------------------------------------------------------------------------------------

def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # utime, stime (fields 14, 15)


def task_ids(pid):
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def ctx_switches(pid):
    """{tid: (comm, voluntary+nonvoluntary)} for every live thread."""
    out = {}
    for tid in task_ids(pid):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                vals, name = 0, "?"
                for line in f:
                    if line.startswith("Name:"):
                        name = line.split(None, 1)[1].strip()
                    elif "ctxt_switches" in line:
                        vals += int(line.split()[1])
            out[tid] = (name, vals)
        except OSError:
            pass
    return out


def sched_ns(pid):
    total = 0
    for tid in task_ids(pid):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


# --------------------------------------------------------------------------------------------
# Escape-sequence tokenizer (shared by the emulator and the byte split)
# --------------------------------------------------------------------------------------------

SEQ = re.compile(
    r"(?P<csi>\x1b\[(?P<priv>[<=>?]?)(?P<params>[0-9;:]*)(?P<inter>[ -/]*)(?P<final>[@-~]))"
    r"|(?P<osc>\x1b\](?P<osctext>[^\x07\x1b]*)(?:\x07|\x1b\\))"
    r"|(?P<dcs>\x1b[P_^](?:[^\x1b]*)\x1b\\)"
    r"|(?P<esc>\x1b[ -/]*[0-~])"
    r"|(?P<text>[^\x00-\x1f\x7f\x1b]+)"
    r"|(?P<ctl>[\x00-\x1a\x1c-\x1f\x7f])",
    re.S,
)


class Tokenizer:
    """Feeds bytes, yields regex matches; keeps an incomplete trailing sequence for later."""

    def __init__(self):
        self.dec = codecs.getincrementaldecoder("utf-8")("replace")
        self.buf = ""

    def feed(self, data):
        self.buf += self.dec.decode(data)
        buf, pos, n = self.buf, 0, len(self.buf)
        while pos < n:
            m = SEQ.match(buf, pos)
            if m is None or (m.lastgroup == "ctl" and buf[pos] == "\x1b"):
                if n - pos < 512:   # possibly an incomplete escape sequence: wait for more
                    break
                m = None
            if m is None:           # a lone ESC: skip it
                pos += 1
                continue
            yield m
            pos = m.end()
        self.buf = buf[pos:]


def char_width(ch):
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class Screen:
    """A minimal VT100/xterm emulator: enough for ratatui + crossterm output."""

    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols
        self.reset()

    def reset(self):
        self.grid = [[" "] * self.cols for _ in range(self.rows)]
        self.r = self.c = 0
        self.top, self.bot = 0, self.rows - 1
        self.pending_wrap = False
        self.saved = (0, 0)

    def text(self):
        return "\n".join("".join(row) for row in self.grid)

    def _scroll_up(self, n, top=None, bot=None):
        top = self.top if top is None else top
        bot = self.bot if bot is None else bot
        for _ in range(min(n, bot - top + 1)):
            del self.grid[top]
            self.grid.insert(bot, [" "] * self.cols)

    def _scroll_down(self, n, top=None, bot=None):
        top = self.top if top is None else top
        bot = self.bot if bot is None else bot
        for _ in range(min(n, bot - top + 1)):
            del self.grid[bot]
            self.grid.insert(top, [" "] * self.cols)

    def _lf(self):
        if self.r == self.bot:
            self._scroll_up(1)
        elif self.r < self.rows - 1:
            self.r += 1

    def _clamp(self):
        self.r = max(0, min(self.rows - 1, self.r))
        self.c = max(0, min(self.cols - 1, self.c))
        self.pending_wrap = False

    def put_text(self, s):
        for ch in s:
            w = char_width(ch)
            if w == 0:
                continue
            if self.pending_wrap or self.c + w > self.cols:
                self.c = 0
                self._lf()
                self.pending_wrap = False
            self.grid[self.r][self.c] = ch
            if w == 2 and self.c + 1 < self.cols:
                self.grid[self.r][self.c + 1] = ""
            self.c += w
            if self.c >= self.cols:
                self.c = self.cols - 1
                self.pending_wrap = True

    def control(self, ch):
        if ch == "\r":
            self.c = 0
            self.pending_wrap = False
        elif ch in "\n\x0b\x0c":
            self._lf()
            self.pending_wrap = False
        elif ch == "\b":
            self.c = max(0, self.c - 1)
            self.pending_wrap = False
        elif ch == "\t":
            self.c = min(self.cols - 1, (self.c // 8 + 1) * 8)

    def csi(self, priv, params, final):
        ps = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")] \
            if params else []

        def p(i, default):
            return ps[i] if i < len(ps) and ps[i] != 0 else default

        if priv:
            if priv == "?" and final in "hl" and any(x in (47, 1047, 1049) for x in ps):
                self.reset()
            return
        if final in "Hf":
            self.r, self.c = p(0, 1) - 1, p(1, 1) - 1
            self._clamp()
        elif final == "A":
            self.r -= p(0, 1); self._clamp()
        elif final in "Be":
            self.r += p(0, 1); self._clamp()
        elif final in "Ca":
            self.c += p(0, 1); self._clamp()
        elif final == "D":
            self.c -= p(0, 1); self._clamp()
        elif final == "E":
            self.r += p(0, 1); self.c = 0; self._clamp()
        elif final == "F":
            self.r -= p(0, 1); self.c = 0; self._clamp()
        elif final in "G`":
            self.c = p(0, 1) - 1; self._clamp()
        elif final == "d":
            self.r = p(0, 1) - 1; self._clamp()
        elif final == "J":
            mode = ps[0] if ps else 0
            if mode == 0:
                self.grid[self.r][self.c:] = [" "] * (self.cols - self.c)
                for r in range(self.r + 1, self.rows):
                    self.grid[r] = [" "] * self.cols
            elif mode == 1:
                for r in range(self.r):
                    self.grid[r] = [" "] * self.cols
                self.grid[self.r][: self.c + 1] = [" "] * (self.c + 1)
            else:
                for r in range(self.rows):
                    self.grid[r] = [" "] * self.cols
        elif final == "K":
            mode = ps[0] if ps else 0
            row = self.grid[self.r]
            if mode == 0:
                row[self.c:] = [" "] * (self.cols - self.c)
            elif mode == 1:
                row[: self.c + 1] = [" "] * (self.c + 1)
            else:
                self.grid[self.r] = [" "] * self.cols
        elif final == "X":
            n = min(p(0, 1), self.cols - self.c)
            self.grid[self.r][self.c:self.c + n] = [" "] * n
        elif final == "@":
            row = self.grid[self.r]
            n = p(0, 1)
            self.grid[self.r] = (row[: self.c] + [" "] * n + row[self.c:])[: self.cols]
        elif final == "P":
            row = self.grid[self.r]
            n = p(0, 1)
            self.grid[self.r] = row[: self.c] + row[self.c + n:] + [" "] * n
            self.grid[self.r] = self.grid[self.r][: self.cols]
        elif final == "L":
            if self.top <= self.r <= self.bot:
                self._scroll_down(p(0, 1), self.r, self.bot)
        elif final == "M":
            if self.top <= self.r <= self.bot:
                self._scroll_up(p(0, 1), self.r, self.bot)
        elif final == "S":
            self._scroll_up(p(0, 1))
        elif final == "T":
            self._scroll_down(p(0, 1))
        elif final == "r":
            self.top = p(0, 1) - 1
            self.bot = min(self.rows, p(1, self.rows)) - 1
            if self.top >= self.bot:
                self.top, self.bot = 0, self.rows - 1
            self.r = self.c = 0
            self.pending_wrap = False
        elif final == "s":
            self.saved = (self.r, self.c)
        elif final == "u":
            self.r, self.c = self.saved
            self._clamp()

    def esc(self, seq):
        f = seq[-1]
        if f == "7":
            self.saved = (self.r, self.c)
        elif f == "8":
            self.r, self.c = self.saved
            self._clamp()
        elif f == "D":
            self._lf()
        elif f == "E":
            self.c = 0
            self._lf()
        elif f == "M":
            if self.r == self.top:
                self._scroll_down(1)
            else:
                self.r = max(0, self.r - 1)
        elif f == "c":
            self.reset()


def classify(data):
    """Splits terminal output into categories: {name: [count, bytes]}."""
    out = {}

    def add(k, b):
        e = out.setdefault(k, [0, 0])
        e[0] += 1
        e[1] += b

    tok = Tokenizer()
    for m in tok.feed(data):
        s = m.group(0)
        b = len(s.encode())
        g = m.lastgroup
        if g == "csi":
            final, priv, params = m.group("final"), m.group("priv"), m.group("params")
            if final in "Hf" and not priv:
                add("cursor position (CSI r;cH)", b)
            elif final == "m" and not priv:
                add("SGR (CSI …m)", b)
            elif priv == "?" and params == "2026":
                add("synchronized output (CSI ?2026h/l)", b)
            elif priv == "?" and params == "25":
                add("cursor show/hide (CSI ?25h/l)", b)
            elif not priv and final in "ABCDEFGd`a":
                add("relative cursor moves (CSI A–G, d)", b)
            elif not priv and final in "JK":
                add("erase (CSI J/K)", b)
            elif not priv and final in "STLMr":
                add("scroll (CSI S/T/L/M/r)", b)
            else:
                add(f"other CSI ({priv}{final})", b)
        elif g == "text":
            spaces = s.count(" ")
            if spaces:
                out.setdefault("text: spaces", [0, 0])[1] += spaces
            nonspace = b - spaces
            if nonspace:
                out.setdefault("text: other", [0, 0])[1] += nonspace
            out.setdefault("text runs", [0, 0])[0] += 1
        elif g == "ctl":
            add("control bytes (CR, LF, …)", b)
        else:
            add(f"{g.upper()} sequences", b)
    return out


def hotspots(data, band=20, top=10):
    """Bytes by screen area: every sequence is charged to the cell the cursor is at (a cursor
    move to the cell it moves to), summed per (row, band of `band` columns). Returns the `top`
    areas, most bytes first, as (row, first col, last col, bytes), 1-based."""
    r = c = 0
    acc = {}
    for m in Tokenizer().feed(data):
        g = m.lastgroup
        s = m.group(0)
        if g == "csi" and not m.group("priv"):
            final = m.group("final")
            ps = [int(x) if x.isdigit() else 0 for x in m.group("params").split(";")] \
                if m.group("params") else []
            n = (ps[0] if ps and ps[0] else 1)
            if final in "Hf":
                r = (ps[0] if ps and ps[0] else 1) - 1
                c = (ps[1] if len(ps) > 1 and ps[1] else 1) - 1
            elif final == "C":
                c += n
            elif final == "D":
                c -= n
            elif final == "G":
                c = n - 1
            elif final == "A":
                r -= n
            elif final == "B":
                r += n
        key = (r, c // band)
        acc[key] = acc.get(key, 0) + len(s.encode())
        if g == "text":
            c += sum(char_width(ch) for ch in s)
        elif g == "ctl" and s == "\r":
            c = 0
        elif g == "ctl" and s == "\n":
            r += 1
    best = sorted(acc.items(), key=lambda kv: -kv[1])[:top]
    return [(k[0] + 1, k[1] * band + 1, k[1] * band + band, b) for k, b in best]


# --------------------------------------------------------------------------------------------
# The mock server: raw HTTP/1.1 with keep-alive and chunked SSE, one event per chunk
# --------------------------------------------------------------------------------------------

class StreamPlan:
    def __init__(self, key, tokens, markers, rate, pid_getter):
        self.key = key
        self.tokens = tokens
        self.markers = markers          # {token index: marker text}
        self.rate = rate                # tokens/s; 0 = as fast as possible
        self.pid_getter = pid_getter
        self.t_request = None
        self.cpu_at_request = None
        self.sched_at_request = None
        self.sent = {}                  # marker text -> send time
        self.t_first_token = None
        self.t_end = None
        self.done = threading.Event()
        self.arrived = threading.Event()


class MockServer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.plans = {}
        self.lock = threading.Lock()
        self.requests = 0
        self.request_texts = []
        self.closing = False
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def add_plan(self, plan):
        with self.lock:
            self.plans[plan.key] = plan

    def close(self):
        self.closing = True
        try:
            self.sock.close()
        except OSError:
            pass
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass

    def _accept(self):
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = b""
        try:
            while not self.closing:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                t_arrival = time.monotonic()
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split()[:2]
                headers = {}
                for ln in lines[1:]:
                    k, _, v = ln.partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                while len(buf) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:length], buf[length:]
                self._respond(conn, method, path, body, t_arrival)
        except OSError:
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _respond(self, conn, method, path, body, t_arrival):
        if method == "GET" and "/models" in path:
            data = json.dumps({"data": [{"id": MODEL, "type": "model", "display_name": MODEL,
                                         "created_at": "2025-01-01T00:00:00Z"}],
                               "has_more": False, "first_id": MODEL, "last_id": MODEL}).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                         b"content-length: %d\r\n\r\n%s" % (len(data), data))
            return
        if method != "POST":
            conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            return
        try:
            req = json.loads(body)
        except ValueError:
            req = {}
        text = last_user_text(req)
        with self.lock:
            self.requests += 1
            self.request_texts.append(text)
            plan = None
            for key, p in self.plans.items():
                if key in text:
                    plan = self.plans.pop(key)
                    break
        if plan is None:
            plan = StreamPlan("other", [" ok."], {}, 0, None)
        plan.t_request = t_arrival
        if plan.pid_getter:
            pid = plan.pid_getter()
            try:
                plan.cpu_at_request = cpu_ticks(pid)
                plan.sched_at_request = sched_ns(pid)
            except OSError:
                pass
        plan.arrived.set()
        start, body_events, tail = reply_events(plan.tokens, "msg_" + plan.key)

        def chunk(b):
            return b"%x\r\n%s\r\n" % (len(b), b)

        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")
        for ev in start:
            conn.sendall(chunk(ev))
        t0 = time.monotonic()
        for i, ev in enumerate(body_events):
            if plan.rate:
                delay = t0 + i / plan.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            conn.sendall(chunk(ev))
            now = time.monotonic()
            if i == 0:
                plan.t_first_token = now
            m = plan.markers.get(i)
            if m:
                plan.sent[m] = now
        for ev in tail:
            conn.sendall(chunk(ev))
        conn.sendall(b"0\r\n\r\n")
        plan.t_end = time.monotonic()
        plan.done.set()


def last_user_text(req):
    for msg in reversed(req.get("messages") or []):
        if msg.get("role") != "user":
            continue
        c = msg.get("content")
        if isinstance(c, str):
            return c
        if isinstance(c, list):
            return " ".join(b.get("text", "") for b in c if isinstance(b, dict))
    return ""


# --------------------------------------------------------------------------------------------
# The app in a pty
# --------------------------------------------------------------------------------------------

class Session:
    def __init__(self, args, server, tmp, rows, cols):
        self.rows, self.cols = rows, cols
        self.screen = Screen(rows, cols)
        self.tok = Tokenizer()
        self.reads = []                 # (monotonic time, bytes)
        self.lock = threading.Condition()
        self.watch = {}                 # text -> first time seen on screen (None until then)
        self.queries = {}
        self.closed = False
        home = os.path.join(tmp, "home")
        os.makedirs(home, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "XDG_CONFIG_HOME": os.path.join(tmp, "config"),
            "PROMPTDECK_DATA_DIR": os.path.join(tmp, "data"),
            "ANTHROPIC_API_KEY": "sk-test",
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{server.port}",
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.master = master
        cmd = [args.binary, "--provider", "anthropic", "--model", MODEL, "--rate-limit", "off"]

        def pre():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        cwd = os.path.join(tmp, "cwd")
        os.makedirs(cwd, exist_ok=True)
        self.t_spawn = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=cwd, preexec_fn=pre, close_fds=True)
        os.close(slave)
        self.pid = self.proc.pid
        self.t_first_byte = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                r, _, _ = select.select([self.master], [], [], 0.2)
            except (OSError, ValueError):
                break
            if not r:
                if self.proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:
                break
            t = time.monotonic()
            if not data:
                break
            with self.lock:
                if self.t_first_byte is None:
                    self.t_first_byte = t
                self.reads.append((t, data))
                self._feed(data)
                pending = [k for k, v in self.watch.items() if v is None]
                if pending:
                    scr = self.screen.text()
                    for k in pending:
                        if k in scr:
                            self.watch[k] = t
                self.lock.notify_all()
        with self.lock:
            self.closed = True
            self.lock.notify_all()

    def _feed(self, data):
        s = self.screen
        for m in self.tok.feed(data):
            g = m.lastgroup
            if g == "text":
                s.put_text(m.group(0))
            elif g == "csi":
                priv, params, final = m.group("priv"), m.group("params"), m.group("final")
                if final == "n" and params == "6" and not priv:
                    self._answer(b"\x1b[%d;%dR" % (s.r + 1, s.c + 1), "CSI 6n")
                elif final == "c" and priv in ("", ">"):
                    self._answer(b"\x1b[?62;22c" if not priv else b"\x1b[>1;10;0c",
                                 f"CSI {priv}c")
                elif (final == "n" and not priv) or (priv == "?" and final == "u") \
                        or (final == "p" and m.group("inter") == "$") \
                        or (final == "t" and params in ("14", "16", "18")):
                    name = f"CSI {priv}{params}{m.group('inter')}{final}"
                    self.queries[name] = self.queries.get(name, 0) + 1
                s.csi(priv, params, final)
            elif g == "ctl":
                s.control(m.group(0))
            elif g == "esc":
                s.esc(m.group(0))
            elif g == "osc":
                if m.group("osctext").rstrip().endswith("?"):
                    self.queries["OSC query"] = self.queries.get("OSC query", 0) + 1

    def _answer(self, data, name):
        self.queries[name] = self.queries.get(name, 0) + 1
        try:
            os.write(self.master, data)
        except OSError:
            pass

    def send(self, data):
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def watch_for(self, *texts):
        with self.lock:
            scr = self.screen.text()
            for t in texts:
                if t not in self.watch:
                    self.watch[t] = time.monotonic() if t in scr else None

    def wait_seen(self, text, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            if text not in self.watch:
                self.watch[text] = time.monotonic() if text in self.screen.text() else None
            while self.watch[text] is None:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.lock.wait(left)
            return self.watch[text]

    def seen(self, text):
        with self.lock:
            return self.watch.get(text)

    def reads_between(self, t0, t1):
        with self.lock:
            return sum(1 for t, _ in self.reads if t0 <= t <= t1)

    def bytes_between(self, t0, t1):
        with self.lock:
            return b"".join(d for t, d in self.reads if t0 <= t <= t1)

    def screen_text(self):
        with self.lock:
            return self.screen.text()

    def quit(self):
        try:
            self.send("\x03")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=2)
        try:
            os.close(self.master)
        except OSError:
            pass
        return self.proc.returncode


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------

def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows, self.cols = args.rows, args.cols
        self.server = MockServer()
        self.counter = 0
        self.floor_counter = 0

    def log(self, msg):
        if not self.args.json or self.args.verbose:
            print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    def start(self, tmp):
        s = Session(self.args, self.server, tmp, self.rows, self.cols)
        t = s.wait_seen(MODEL, 15)
        if t is None:
            scr = s.screen_text()
            s.quit()
            raise RuntimeError("no first frame within 15 s; screen:\n" + scr)
        return s, t - s.t_spawn, (s.t_first_byte - s.t_spawn)

    def idle(self, s, seconds):
        before = ctx_switches(s.pid)
        cpu0 = cpu_ticks(s.pid)
        b0 = time.monotonic()
        time.sleep(seconds)
        after = ctx_switches(s.pid)
        cpu1 = cpu_ticks(s.pid)
        b1 = time.monotonic()
        total = 0
        per_thread = {}
        for tid, (name, n) in after.items():
            d = n - before.get(tid, (name, 0))[1]
            total += d
            if d:
                per_thread[f"{name}/{tid}"] = d
        out = s.bytes_between(b0, b1)
        return {"wakeups_per_s": total / (b1 - b0), "seconds": round(b1 - b0, 2),
                "threads": len(after), "by_thread": per_thread,
                "cpu_ms": (cpu1 - cpu0) * 1000 / CLK_TCK, "bytes_written": len(out)}

    def stream(self, s, rate, ntok, prefix):
        self.counter += 1
        key = f"benchstream{self.counter:03d}"
        toks, markers = make_tokens(ntok, self.counter, self.args.marker_every, prefix)
        plan = StreamPlan(key, toks, markers, rate, lambda: s.pid)
        self.server.add_plan(plan)
        s.watch_for(*markers.values())
        s.send(f"Please write a long answer {key}")
        time.sleep(0.05)
        s.send("\r")
        if not plan.arrived.wait(10):
            raise RuntimeError(f"the app sent no request for {key}; screen:\n{s.screen_text()}")
        expected = ntok / rate if rate else 1
        if not plan.done.wait(expected * 2 + 30):
            raise RuntimeError(f"stream {key} did not finish")
        last = markers[ntok - 1]
        t_last = s.wait_seen(last, 30)
        end = max(plan.t_end, t_last or plan.t_end) + self.args.settle_ms / 1000
        time.sleep(max(0, end - time.monotonic()))
        cpu1 = cpu_ticks(s.pid)
        sch1 = sched_ns(s.pid)
        data = s.bytes_between(plan.t_request, end)
        if self.args.dump_dir:
            os.makedirs(self.args.dump_dir, exist_ok=True)
            with open(os.path.join(self.args.dump_dir, f"{key}-{prefix}.pty"), "wb") as f:
                f.write(data)
        lats = []
        missing = 0
        for m, t_sent in plan.sent.items():
            t_seen = s.seen(m)
            if t_seen is None:
                missing += 1
            else:
                lats.append((t_seen - t_sent) * 1000)
        text_bytes = sum(len(t.encode()) for t in toks)
        split = classify(data)
        frames = split.get("synchronized output (CSI ?2026h/l)", [0, 0])[0] // 2
        cpu_ms = (cpu1 - plan.cpu_at_request) * 1000 / CLK_TCK
        stream_s = plan.t_end - plan.t_first_token
        return {
            "tokens": ntok,
            "rate_tok_s": rate or "max",
            "stream_s": round(stream_s, 3),
            "window_s": round(end - plan.t_request, 3),
            "bytes_written": len(data),
            "bytes_per_token": len(data) / ntok,
            "text_bytes_per_token": text_bytes / ntok,
            "cpu_ms": cpu_ms,
            "cpu_ms_per_token": cpu_ms / ntok,
            "cpu_ms_per_token_schedstat": (sch1 - plan.sched_at_request) / 1e6 / ntok,
            "latency_ms_median": pct(lats, 0.5),
            "latency_ms_p95": pct(lats, 0.95),
            "latency_ms_max": max(lats) if lats else None,
            "markers": len(plan.sent),
            "markers_never_seen": missing,
            "lag_after_end_ms": (t_last - plan.t_end) * 1000 if t_last else None,
            "sync_frames": frames,
            "pty_reads": s.reads_between(plan.t_request, end),
            "byte_split": split,
            "hotspots": [{"row": hr, "cols": f"{a}-{b}", "bytes_per_token": n / ntok}
                         for hr, a, b, n in hotspots(data)],
            "screen_at_end": s.screen_text(),
        }

    def floor(self, tmp):
        """CPU ms per token of reading the same paced stream without a screen: `promptdeck
        ask` (the same request path, text to /dev/null) and, when installed, curl. Each is
        measured from wait4's rusage (all threads, microseconds) and its startup cost (the
        least of three 1-token replies) taken off."""
        a = self.args
        os.makedirs(os.path.join(tmp, "home"), exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.path.join(tmp, "home"),
            "XDG_CONFIG_HOME": os.path.join(tmp, "config"),
            "PROMPTDECK_DATA_DIR": os.path.join(tmp, "data"),
            "ANTHROPIC_API_KEY": "sk-test",
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{self.server.port}",
            "NO_PROXY": "127.0.0.1,localhost",
        }

        def cpu_ms(cmd_for, ntok, rate):
            # A counter of its own: the screen's streams keep the texts (seeds) they had
            # before this measurement existed, so runs stay comparable.
            self.floor_counter += 1
            key = f"floor{self.floor_counter:03d}"
            toks, markers = make_tokens(ntok, 1000 + self.floor_counter, a.marker_every, "fl")
            self.server.add_plan(StreamPlan(key, toks, markers, rate, None))
            p = subprocess.Popen(cmd_for(key), env=env, cwd=tmp, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            if status != 0:
                raise RuntimeError(f"{cmd_for(key)[0]} exited with status {status}")
            return (ru.ru_utime + ru.ru_stime) * 1000

        def per_token(cmd_for):
            startup = min(cpu_ms(cmd_for, 1, 0) for _ in range(3))
            return (cpu_ms(cmd_for, a.tokens, a.rate) - startup) / a.tokens

        out = {"ask_cpu_ms_per_token": per_token(lambda key: [
            a.binary, "--provider", "anthropic", "--model", MODEL, "--rate-limit", "off",
            "ask", f"Please write a long answer {key}"])}
        curl = shutil.which("curl")
        if curl:
            url = f"http://127.0.0.1:{self.server.port}/v1/messages"
            out["curl_cpu_ms_per_token"] = per_token(lambda key: [
                curl, "-sN", "-o", "/dev/null", "-H", "content-type: application/json",
                "--data", json.dumps({"model": MODEL, "stream": True, "max_tokens": 4096,
                                      "messages": [{"role": "user", "content": key}]}), url])
        return out

    def exchanges(self, s, n):
        t0 = time.monotonic()
        for i in range(1, n + 1):
            key = f"shortq{self.counter:03d}x{i:04d}"
            toks = [" Sure", ",", " here", " is", " the", " short", " answer", " number",
                    f" {i}", ".", " Nothing", " more", " to", " add", "."]
            mk = marker(f"rx{self.counter:03d}", i)
            toks.append(" " + mk)
            plan = StreamPlan(key, toks, {len(toks) - 1: mk}, 0, None)
            self.server.add_plan(plan)
            s.send(f"question {key}")
            time.sleep(0.01)
            s.send("\r")
            if not plan.arrived.wait(3):
                s.send("\r")   # the app was still finishing the previous reply
                if not plan.arrived.wait(10):
                    raise RuntimeError(f"no request for exchange {i}; screen:\n{s.screen_text()}")
            plan.done.wait(10)
            if s.wait_seen(mk, 10) is None:
                raise RuntimeError(f"reply {i} never shown; screen:\n{s.screen_text()}")
            time.sleep(0.03)
        self.counter += 1
        return time.monotonic() - t0

    def run_once(self, run_no):
        a = self.args
        res = {}
        tmp_root = tempfile.mkdtemp(prefix="pd-bench-")
        try:
            # 1. Fresh chat: first frame, idle, paced stream, idle after the reply.
            self.log(f"run {run_no}: fresh chat, paced stream at {a.rate} tok/s")
            tmp = os.path.join(tmp_root, "fresh")
            s, ttff, first_byte = self.start(tmp)
            try:
                res["first_frame_ms"] = ttff * 1000
                res["first_byte_ms"] = first_byte * 1000
                time.sleep(1.0)
                self.log(f"idle {a.idle_seconds} s (empty chat)")
                res["idle_start"] = self.idle(s, a.idle_seconds)
                res["paced"] = self.stream(s, a.rate, a.tokens, "mk")
                time.sleep(1.0)
                self.log(f"idle {a.idle_seconds} s (after the reply)")
                res["idle_after_reply"] = self.idle(s, a.idle_seconds)
                res["rss_peak_kb_fresh_paced"] = status_kb(s.pid, "VmHWM")
                res["terminal_queries"] = dict(s.queries)
            finally:
                res["exit_status_fresh"] = s.quit()
            # 2. Fresh chat, full speed.
            self.log(f"run {run_no}: fresh chat, full-speed stream")
            tmp = os.path.join(tmp_root, "fast")
            s, _, _ = self.start(tmp)
            try:
                time.sleep(0.5)
                res["full"] = self.stream(s, 0, a.tokens, "fz")
                res["rss_peak_kb_fresh_full"] = status_kb(s.pid, "VmHWM")
            finally:
                s.quit()
            # 3. The same paced stream read without a screen: the socket's own cost.
            self.log(f"run {run_no}: the paced stream without a screen (ask, curl)")
            res["floor"] = self.floor(os.path.join(tmp_root, "floor"))
            # 4. After a transcript of 2 × exchanges messages.
            self.log(f"run {run_no}: {a.exchanges} short exchanges, then both streams")
            tmp = os.path.join(tmp_root, "long")
            s, _, _ = self.start(tmp)
            try:
                time.sleep(0.5)
                res["exchanges_s"] = self.exchanges(s, a.exchanges)
                time.sleep(0.5)
                res["paced_after_transcript"] = self.stream(s, a.rate, a.tokens, "lp")
                time.sleep(0.5)
                res["full_after_transcript"] = self.stream(s, 0, a.tokens, "lf")
                res["rss_peak_kb_after_transcript"] = status_kb(s.pid, "VmHWM")
            finally:
                s.quit()
        finally:
            if a.keep_tmp:
                print(f"kept {tmp_root}", file=sys.stderr)
            else:
                shutil.rmtree(tmp_root, ignore_errors=True)
        return res


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------

STREAM_KEYS = ("paced", "full", "paced_after_transcript", "full_after_transcript")
STREAM_ROWS = (
    ("bytes_per_token", "bytes written / token", "{:.1f}"),
    ("text_bytes_per_token", "text bytes / token", "{:.2f}"),
    ("cpu_ms_per_token", "CPU ms / token (stat)", "{:.3f}"),
    ("cpu_ms_per_token_schedstat", "CPU ms / token (schedstat)", "{:.3f}"),
    ("latency_ms_median", "latency median ms", "{:.1f}"),
    ("latency_ms_p95", "latency p95 ms", "{:.1f}"),
    ("lag_after_end_ms", "last token shown after end ms", "{:.1f}"),
    ("sync_frames", "synchronized frames", "{:.0f}"),
    ("pty_reads", "pty reads (~ writes)", "{:.0f}"),
    ("stream_s", "stream duration s", "{:.2f}"),
    ("markers_never_seen", "markers never seen", "{:.0f}"),
)


def summarize(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}


def fmt(summary, f):
    if summary is None:
        return "n/a"
    if summary["min"] == summary["max"]:
        return f.format(summary["median"])
    return f"{f.format(summary['median'])} [{f.format(summary['min'])}–{f.format(summary['max'])}]"


def build_summary(runs):
    out = {}
    for k in STREAM_KEYS:
        out[k] = {key: summarize([r[k][key] for r in runs]) for key, _, _ in STREAM_ROWS}
    for k in ("first_frame_ms", "first_byte_ms", "rss_peak_kb_fresh_paced",
              "rss_peak_kb_fresh_full", "rss_peak_kb_after_transcript", "exchanges_s"):
        out[k] = summarize([r[k] for r in runs])
    for k in ("ask_cpu_ms_per_token", "curl_cpu_ms_per_token"):
        out[k] = summarize([r.get("floor", {}).get(k) for r in runs])
    for k in ("idle_start", "idle_after_reply"):
        out[k + "_wakeups_per_s"] = summarize([r[k]["wakeups_per_s"] for r in runs])
        out[k + "_bytes_written"] = summarize([r[k]["bytes_written"] for r in runs])
    return out


def print_table(args, runs, summary):
    print(f"\npromptdeck terminal benchmark — {args.binary}")
    print(f"pty {args.cols}x{args.rows}, {args.tokens} tokens per stream, paced at {args.rate} "
          f"tok/s, markers every {args.marker_every} tokens, {len(runs)} run(s); "
          f"median [min–max]\n")
    heads = ("fresh, paced", "fresh, full", f"{2 * args.exchanges} msgs, paced",
             f"{2 * args.exchanges} msgs, full")
    w0 = 32
    print(f"{'':{w0}}" + "".join(f"{h:>24}" for h in heads))
    for key, label, f in STREAM_ROWS:
        print(f"{label:{w0}}" + "".join(f"{fmt(summary[k][key], f):>24}" for k in STREAM_KEYS))
    print()
    rows = (
        ("time to first frame ms", summary["first_frame_ms"], "{:.0f}"),
        ("time to first byte ms", summary["first_byte_ms"], "{:.0f}"),
        (f"idle wake-ups/s, empty chat ({args.idle_seconds:g} s)",
         summary["idle_start_wakeups_per_s"], "{:.2f}"),
        ("  bytes written while idle", summary["idle_start_bytes_written"], "{:.0f}"),
        (f"idle wake-ups/s, after a reply", summary["idle_after_reply_wakeups_per_s"], "{:.2f}"),
        ("  bytes written while idle", summary["idle_after_reply_bytes_written"], "{:.0f}"),
        ("peak RSS KiB, fresh + paced", summary["rss_peak_kb_fresh_paced"], "{:.0f}"),
        ("peak RSS KiB, fresh + full", summary["rss_peak_kb_fresh_full"], "{:.0f}"),
        (f"peak RSS KiB, {2 * args.exchanges} msgs + 2 streams",
         summary["rss_peak_kb_after_transcript"], "{:.0f}"),
        (f"{args.exchanges} short exchanges took s", summary["exchanges_s"], "{:.1f}"),
        (f"CPU ms/token, paced, no screen: ask", summary.get("ask_cpu_ms_per_token"),
         "{:.3f}"),
        (f"CPU ms/token, paced, no screen: curl", summary.get("curl_cpu_ms_per_token"),
         "{:.3f}"),
    )
    for label, s, f in rows:
        print(f"{label:44}{fmt(s, f):>28}")
    q = runs[-1].get("terminal_queries") or {}
    print(f"{'terminal queries seen':44}{(json.dumps(q) if q else 'none'):>28}")
    # Byte split of the last run.
    print("\nWhere the bytes go (last run): share of bytes written during each stream")
    cats = sorted({c for k in STREAM_KEYS for c in runs[-1][k]["byte_split"]},
                  key=lambda c: -runs[-1]["paced"]["byte_split"].get(c, [0, 0])[1])
    print(f"{'':40}" + "".join(f"{h:>24}" for h in heads))
    for c in cats:
        cells = []
        for k in STREAM_KEYS:
            st = runs[-1][k]
            n, b = st["byte_split"].get(c, [0, 0])
            share = 100 * b / st["bytes_written"] if st["bytes_written"] else 0
            cells.append(f"{b / st['tokens']:.1f} B/tok {share:4.1f}%" + (f" ×{n}" if n else ""))
        print(f"{c:40}" + "".join(f"{x:>24}" for x in cells))
    print("\nBusiest screen areas (last run, fresh paced stream): bytes per token charged to "
          "the cells written, and what the final screen shows there")
    st = runs[-1]["paced"]
    lines = st.get("screen_at_end", "").split("\n")
    for h in st.get("hotspots", [])[:8]:
        a, b = (int(x) for x in h["cols"].split("-"))
        row = lines[h["row"] - 1] if 0 < h["row"] <= len(lines) else ""
        print(f"  row {h['row']:>2} cols {h['cols']:>7}: {h['bytes_per_token']:5.1f} B/tok  "
              f"|{row[a - 1:b]}|")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=None, help="promptdeck binary [target/release/promptdeck]")
    ap.add_argument("--rate", type=float, default=80, help="paced rate, tokens/s [80]")
    ap.add_argument("--tokens", type=int, default=2000, help="tokens per long stream [2000]")
    ap.add_argument("--size", default="120x40", help="terminal COLSxROWS [120x40]")
    ap.add_argument("--runs", type=int, default=1, help="full measurements [1]")
    ap.add_argument("--idle-seconds", type=float, default=20, help="idle window [20]")
    ap.add_argument("--exchanges", type=int, default=100,
                    help="short exchanges before the transcript streams [100]")
    ap.add_argument("--marker-every", type=int, default=25,
                    help="a latency marker word every N tokens [25]")
    ap.add_argument("--settle-ms", type=float, default=500,
                    help="window kept open after the last token shows [500]")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 300 tokens, 3 s idle, 10 exchanges")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ap.add_argument("--dump-dir", default=None,
                    help="write each stream's raw terminal output to DIR/<stream>.pty")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary directories")
    ap.add_argument("--verbose", action="store_true", help="progress on stderr with --json")
    ap.add_argument("--from-json", metavar="FILE",
                    help="print the table of a saved --json output and exit")
    args = ap.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        args.binary, args.size = saved["binary"], saved["size"]
        args.cols, args.rows = (int(x) for x in args.size.split("x"))
        for k in ("tokens", "rate", "marker_every", "exchanges", "idle_seconds"):
            setattr(args, k, saved[k])
        print_table(args, saved["runs"], build_summary(saved["runs"]))
        return
    if args.binary is None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        args.binary = os.path.join(root, "target", "release", "promptdeck")
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"no executable binary at {args.binary} (cargo build --release)")
    try:
        args.cols, args.rows = (int(x) for x in args.size.lower().split("x"))
    except ValueError:
        sys.exit("--size must be COLSxROWS, e.g. 120x40")
    if args.quick:
        args.tokens = min(args.tokens, 300)
        args.idle_seconds = min(args.idle_seconds, 3)
        args.exchanges = min(args.exchanges, 10)
    sys.setswitchinterval(0.0005)   # keep the reader thread's timestamps close to the data

    bench = Bench(args)
    runs = []
    try:
        for i in range(1, args.runs + 1):
            runs.append(bench.run_once(i))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
    finally:
        bench.server.close()
    if not runs:
        sys.exit(1)
    summary = build_summary(runs)
    if args.json:
        json.dump({"binary": args.binary, "size": args.size, "tokens": args.tokens,
                   "rate": args.rate, "marker_every": args.marker_every,
                   "exchanges": args.exchanges, "idle_seconds": args.idle_seconds,
                   "summary": summary, "runs": runs}, sys.stdout, indent=1)
        print()
    else:
        print_table(args, runs, summary)
    if len(runs) < args.runs:
        sys.exit(1)


if __name__ == "__main__":
    main()
