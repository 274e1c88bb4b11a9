"""The trusted driver that runs inside every sandbox (bwrap, unshare, docker, none).

It starts as the sandbox's first process (pid 1 of its pid namespace under bwrap, unshare and docker),
before any untrusted code exists, and serves jobs read as length-prefixed frames on fd 0 (marshal, from
the trusted harness), answering on fd 1 (JSON). Before it reads any job it forks a **fork server**
(:func:`zygote_main`), and every child that runs a job comes from that fork server, so a program starts
from memory that never held a job, an answer, a nonce or a value of any earlier program (the worker's own
heap does). Only those children ever run model-written code:

* the child gets fresh pipes for stdout, stderr and the report channel (fd 3), ``/dev/null`` as stdin, and
  no other descriptor, and reads its one job from its own pipe;
* rlimits (RLIMIT_AS, CPU, FSIZE, NOFILE, NPROC, CORE=0) and the seccomp filter (:mod:`seccomp`) are applied in the
  child, then the program, the setup code and the test units run;
* the worker reads the child's pipes with caps (output flood → killed, ``output``), enforces the wall-clock
  deadline (``timeout``), and after the child is gone kills every other process of the namespace but the
  fork server (and the next child, which is waiting for its job), reaps them and wipes the work dirs
  without recursion or long paths (fd-relative, deep trees moved up), restoring their mode, times and
  extended attributes.
* Each answer frame carries the job's id. Only when the sandbox is known clean (no process left, dirs
  empty, the fork server alive, unstopped and unchanged, the next child healthy) does the worker write
  ``{"ready": id}`` and read the next job; otherwise it writes ``{"bye": why}`` and exits, and the harness
  replaces the sandbox without ever reading another job's frame as an answer.

The worker protects itself: it is non-dumpable (no ``/proc/<pid>/mem``, no ptrace from the same uid, and
seccomp forbids ptrace anyway), and as pid 1 with default signal dispositions it cannot be signalled from
inside the namespace. The fork server is non-dumpable too, and seccomp stops programs from changing its
limits, priority or CPUs; a program can only stop or kill it (or exhaust the sandbox's pids or memory),
which the worker notices after the job: it retires and the harness starts a fresh sandbox.

What the child sends on fd 3 is a claim, not a verdict: one JSON line per event carrying the job's nonce;
the harness checks order and completeness and computes pass/fail itself (see ``judge.py``). Test units that
cannot be split into values and a verdict run in a trusted check process forked before the program loads
(:func:`check_main`); it alone holds fd 4, the channel their verdicts are read from.

Standard library only; ``codec.py`` and ``seccomp.py`` are copied next to this file inside the sandbox.
"""

from __future__ import annotations

import _signal as signal  # the signal module imports enum & co.: too slow for a per-sandbox start-up
import builtins
import gc
import marshal
import os
import resource
import select
import struct
import sys
import time

if __package__:
    from . import codec, seccomp
else:  # inside the sandbox, imported by launch.py (which put this directory on sys.path)
    import codec  # type: ignore[no-redef]
    import seccomp  # type: ignore[no-redef]

MAX_FRAME = 256 * 1024 * 1024
PRELOAD = (
    "math",
    "re",
    "json",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "string",
    "operator",
    "copy",
    "typing",
    "random",
)
PROGRAM_FILE = "<program>"
EXIT_SETUP_FAILED = 71  # the child could not lock itself down; it never ran the program


# ----------------------------------------------------------------------------------------------- framing


def read_exact(fd, n):
    chunks = []
    while n > 0:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_body(fd, cap, too_large):
    """The body of one length-prefixed frame; None on EOF. Raises ValueError(too_large) when it is over ``cap``."""
    head = read_exact(fd, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > cap:
        raise ValueError(too_large)
    return read_exact(fd, size)


def read_frame(fd):
    """A job from the harness (trusted direction: marshal, which needs no import)."""
    body = read_body(fd, MAX_FRAME, "frame too large")
    return None if body is None else marshal.loads(body)


def stat_fields(pid):
    """The fields of ``/proc/<pid>/stat`` after the command name (state, ppid, ...); None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].split()


_ESCAPES = {i: f"\\u{i:04x}" for i in range(32)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", 10: "\\n", 13: "\\r", 9: "\\t"})


def dumps(obj):
    """Minimal JSON writer (the json module drags in re & co., ~10 ms of start-up per sandbox).

    Lone surrogates come out as \\udXXX escapes via ``backslashreplace`` in :func:`to_bytes`.
    """
    t = type(obj)
    if t is str:
        return '"' + obj.translate(_ESCAPES) + '"'
    if obj is None:
        return "null"
    if t is bool:
        return "true" if obj else "false"
    if t is int:
        return str(obj)
    if t is float:
        return repr(obj) if obj == obj and obj not in (float("inf"), float("-inf")) else "null"
    if t is dict:
        return "{" + ",".join(dumps(str(k)) + ":" + dumps(v) for k, v in obj.items()) + "}"
    if t is list or t is tuple:
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    raise TypeError(f"cannot serialise {t.__name__}")


def to_bytes(text):
    return text.encode("utf-8", "backslashreplace")


def write_frame(fd, obj):
    """An answer to the harness: length-prefixed JSON (the harness parses it strictly)."""
    data = to_bytes(dumps(obj))
    data = struct.pack(">I", len(data)) + data
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


# ------------------------------------------------------------------------------------------- child side


def describe_error(exc):
    """``Type: message (line N in func)``, trimmed; never trusts the exception object to behave."""
    try:
        name = type(exc).__name__
        if not isinstance(name, str):
            name = "Exception"
    except BaseException:
        name = "Exception"
    try:
        msg = str(exc)
    except BaseException:
        msg = "<unprintable>"
    text = f"{name}: {msg}" if msg else name
    if len(text) > 400:
        text = text[:397] + "..."
    try:
        tb, where = exc.__traceback__, None
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename == PROGRAM_FILE:
                where = (tb.tb_lineno, code.co_name)
            tb = tb.tb_next
        if where:
            text += f" (program line {where[0]}, in {where[1]})"
    except BaseException:
        pass
    return text


def make_reporter(nonce, fd=3):
    write, _dumps, _bytes = os.write, dumps, to_bytes

    def report(obj):
        obj["n"] = nonce
        data = _bytes(_dumps(obj) + "\n")
        view = memoryview(data)
        while view:
            view = view[write(fd, view) :]

    return report


def run_candidate(job):
    """Run program, setup and units in one namespace; report per-unit claims on fd 3.

    Split units send only values. General units (statements that need the program, e.g. a HumanEval check
    with loops) run in a separate trusted check process forked here before any program code exists (see
    :func:`start_checker`): this process only answers its calls with values, and only the check process holds
    the channel (fd 4) on which a general unit's verdict is written.
    """
    nonce = job.pop("nonce")
    checks = [u for u in job["units"] if "src" in u]
    link = start_checker(nonce, checks) if checks else None
    if link is None:
        os.close(CHECK_FD)
    report = make_reporter(nonce)  # only the reporter's closure keeps it (raises the bar a little)
    del nonce
    encode, CodecError = codec.encode, codec.CodecError
    g = {"__name__": "__candidate__", "__builtins__": __builtins__}
    try:
        exec(compile(job["program"], PROGRAM_FILE, "exec"), g)
        if job.get("setup"):
            exec(compile(job["setup"], "<setup>", "exec"), g)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: they are program errors
        report({"k": "load", "err": describe_error(exc)})
        return
    report({"k": "load"})
    for unit in job["units"]:
        i = unit["i"]
        if "src" in unit:  # judged by the check process: we only answer its calls
            if link is not None:
                link = serve_check(link, i, g)
            continue
        try:
            values = []
            for src in unit["holes"]:
                value = eval(compile(src, "<test>", "eval"), g)
                try:
                    values.append(encode(value))
                except RecursionError:
                    raise CodecError("value nested too deeply") from None
            report({"k": "t", "i": i, "v": values})
        except BaseException as exc:
            report({"k": "t", "i": i, "err": describe_error(exc)})
    report({"k": "end"})


# ------------------------------------------------------------------------------- the trusted check process
# A general unit (a statement the harness cannot split into program values and a verdict) runs in a process
# of its own, forked by the candidate's child before the program is loaded, so it never holds a program
# object. Its names resolve to real builtins, the real standard-library modules, or, for the program's
# names, to values fetched from the candidate's process (builtin values through the exact codec) and to
# stubs whose calls run there. Only the check process holds CHECK_FD, where verdicts go; the candidate's
# process holds the other end of two private pipes and can only answer calls (or not). The check process
# inherits the child's rlimits, seccomp filter and non-dumpability (no /proc/<pid>/fd or mem access).

CHECK_FD = 4
LINK_CAP = 64 * 1024 * 1024  # one answer from the candidate's process, at most (bytes)
_NOT_MAPPED = ("StopIteration", "StopAsyncIteration")  # they would end the check's loops early


def _send_msg(fd, obj, trusted=False):
    """A framed message: marshal from the check process (trusted direction), JSON from the program's side."""
    data = marshal.dumps(obj) if trusted else to_bytes(dumps(obj))
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _recv_msg(fd, cap, loads):
    """One framed JSON message; None on EOF. Raises ValueError on a malformed or oversized frame."""
    body = read_body(fd, cap, "oversized message")
    if body is None:
        return None
    msg = loads(body)
    if type(msg) is not dict:
        raise ValueError("malformed message")
    return msg


class ProgramError(Exception):
    """An exception the program raised (or an unusable answer), raised inside the check."""


class _Link:
    """The check process's end of the pipes to the candidate's process: ask, get one answer."""

    def __init__(self, r, w, loads):
        self.r, self.w, self.loads = r, w, loads

    def recv(self):
        try:
            return _recv_msg(self.r, LINK_CAP, self.loads)
        except (ValueError, RecursionError, MemoryError, OSError):
            return None

    def ask(self, msg):
        try:
            _send_msg(self.w, msg, trusted=True)
        except OSError:
            raise ProgramError("the program's process is gone") from None
        answer = self.recv()
        if answer is None:
            raise ProgramError("the program's process gave no usable answer")
        if "v" in answer:
            try:
                return codec.decode(answer["v"])
            except codec.CodecError as exc:
                raise ProgramError(f"unusable value: {exc}") from None
        if answer.get("fn") == 1 and "c" not in msg:
            return _Remote(self, msg["g"])
        text, kind = answer.get("e"), answer.get("t")
        if type(text) is not str or type(kind) is not str:
            raise ProgramError("the program's process gave a malformed answer")
        cls = getattr(builtins, kind, None)
        if not (isinstance(cls, type) and issubclass(cls, Exception)) or kind in _NOT_MAPPED:
            cls = ProgramError
        exc = cls(text[:400])
        exc.rb_text = text[:400]
        raise exc


class _Remote:
    """A function of the program: calling it runs it in the candidate's process, values only both ways."""

    __slots__ = ("_link", "_name")

    def __init__(self, link, name):
        self._link, self._name = link, name

    def __call__(self, *args, **kwargs):
        try:
            msg = {
                "c": self._name,
                "a": [codec.encode(a) for a in args],
                "k": [[k, codec.encode(v)] for k, v in kwargs.items()],
            }
        except RecursionError:
            raise codec.CodecError("argument nested too deeply") from None
        return self._link.ask(msg)

    def __repr__(self):
        return f"<program function {self._name}>"


def _check_globals(link):
    import builtins

    names = frozenset(builtins.__dict__)
    stdlib = frozenset(getattr(sys, "stdlib_module_names", ())) - {
        "this",
        "antigravity",
        "idlelib",
        "tkinter",
        "turtle",
        "turtledemo",
    }

    class CheckGlobals(dict):
        """Test code's own names first; then real builtins, real stdlib modules, then the program's names."""

        def __missing__(self, name):
            if name in names:
                raise KeyError(name)  # the real builtin (a program cannot rebind what the check calls)
            if name in stdlib:
                try:
                    return __import__(name)
                except ImportError:
                    pass
            try:
                value = link.ask({"g": name})
            except ProgramError as exc:
                raise NameError(f"name {name!r} is not defined ({exc})") from None
            if type(value) is _Remote:  # a stub looks its function up at each call: keep it, save a round trip
                dict.__setitem__(self, name, value)
            return value

    ns = CheckGlobals()
    ns.update({"__name__": "__check__", "__builtins__": builtins})
    return ns


def _check_error(exc):
    text = getattr(exc, "rb_text", None)
    if type(text) is str:
        return text  # the program's own error, as its process described it
    if isinstance(exc, AssertionError):
        return "AssertionError"  # the check's message belongs to the hidden test
    return describe_error(exc)


def check_main(nonce, checks, r, w):
    """The trusted check process: run each general unit when the candidate's process hands it over."""
    import json

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a KeyboardInterrupt could unwind a check's try/except
    if "random" in sys.modules:
        sys.modules["random"].seed()  # not the state the program's process starts from
    report = make_reporter(nonce, CHECK_FD)
    link = _Link(r, w, json.loads)
    ns = _check_globals(link)
    last = checks[-1]["i"]
    for unit in checks:
        msg = link.recv()
        if msg is None or msg.get("go") != unit["i"]:
            return
        try:
            exec(compile(unit["src"], "<test>", "exec"), ns)
            rec = {"k": "t", "i": unit["i"], "ok": 1}
        except BaseException as exc:
            rec = {"k": "t", "i": unit["i"], "err": _check_error(exc)}
        report(rec)
        if unit["i"] == last:
            report({"k": "end"})
        try:
            _send_msg(w, {"done": unit["i"]}, trusted=True)
        except OSError:
            return


def start_checker(nonce, checks):
    """Fork the check process (before any program code runs); our ends of its pipes, or None if it cannot
    start (its units then never report: the run fails closed)."""
    pipes = []
    try:
        c2k_r, c2k_w = os.pipe()
        pipes += [c2k_r, c2k_w]
        k2c_r, k2c_w = os.pipe()
        pipes += [k2c_r, k2c_w]
        pid = os.fork()
    except OSError:
        for fd in pipes:
            os.close(fd)
        return None
    if pid == 0:
        try:
            for fd in (3, c2k_w, k2c_r):
                os.close(fd)
            null = os.open("/dev/null", os.O_RDWR)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.close(null)
            check_main(nonce, checks, c2k_r, k2c_w)
        except BaseException:
            pass
        os._exit(0)
    for fd in (CHECK_FD, c2k_r, k2c_w):
        os.close(fd)
    return (k2c_r, c2k_w)


def serve_check(link, i, g):
    """Hand unit ``i`` to the check process and answer its calls until it is done; the link, or None."""
    r, w = link
    encode = codec.encode
    try:
        _send_msg(w, {"go": i})
        while True:
            msg = _recv_msg(r, LINK_CAP, marshal.loads)  # from the check process: the trusted direction
            if msg is None:
                return None
            if "done" in msg:
                return link
            try:
                if "g" in msg:
                    if msg["g"] not in g:
                        raise NameError(f"name {msg['g']!r} is not defined")
                    value = g[msg["g"]]
                    answer = {"fn": 1} if callable(value) else {"v": encode(value)}
                else:
                    args = [codec.decode(a) for a in msg["a"]]
                    kwargs = {k: codec.decode(v) for k, v in msg["k"]}
                    answer = {"v": encode(g[msg["c"]](*args, **kwargs))}
            except BaseException as exc:
                answer = {"e": describe_error(exc), "t": type(exc).__name__}
            _send_msg(w, answer)
    except (OSError, ValueError, EOFError, TypeError):
        return None


def run_judge(job):
    """Trusted: evaluate verdict expressions on values decoded from the candidate's claims.

    No candidate code runs in this process; it sees only the test's own expression, replayed import
    statements and builtin values.
    """
    os.close(CHECK_FD)
    report = make_reporter(job["nonce"])
    g = {"__name__": "__judge__", "__builtins__": __builtins__}
    for src in job.get("imports", ()):
        try:
            exec(compile(src, "<imports>", "exec"), g)
        except BaseException:
            pass
    for item in job["items"]:
        try:
            for k, tree in enumerate(item["holes"]):
                g[f"__h{k}"] = codec.decode(tree)
            ok = bool(eval(compile(item["expr"], "<test>", "eval"), g))
            report({"k": "t", "i": item["i"], "ok": 1 if ok else 0})
        except BaseException as exc:
            report({"k": "t", "i": item["i"], "err": describe_error(exc)})
    report({"k": "end"})


def child_main(job_r, out_w, err_w, rep_w, chk_w, workdir, install_filter):
    """A pre-forked child: hold only its own pipes, wait for one job, lock itself down, run it, exit."""
    try:
        os.dup2(job_r, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(rep_w, 3)
        os.dup2(chk_w, CHECK_FD)
        os.closerange(5, 1 << 16)  # the worker's control pipes included: nothing but fds 0-4 stays open
        job = read_frame(0)
        if job is None:  # the worker went away before sending a job
            os._exit(0)
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.close(null)
        os.setsid()
        os.chdir(workdir)
        lim = job["limits"]
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (lim["cpu"], lim["cpu"] + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim["fsize"], lim["fsize"]))
        resource.setrlimit(resource.RLIMIT_NOFILE, (lim["nofile"], lim["nofile"]))
        resource.setrlimit(resource.RLIMIT_AS, (lim["as"], lim["as"]))
        if "nproc" in lim:  # counted per user namespace: bwrap gives each sandbox its own
            resource.setrlimit(resource.RLIMIT_NPROC, (lim["nproc"], lim["nproc"]))
        if install_filter is not None:
            problem = install_filter()
            if problem:  # fail closed: no filter, no program
                os.write(2, f"sandbox: seccomp setup failed: {problem}\n".encode())
                os._exit(EXIT_SETUP_FAILED)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        if "random" in sys.modules:
            sys.modules["random"].seed()
        if job["kind"] == "judge":
            run_judge(job)
        else:
            run_candidate(job)
    except BaseException:
        pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os.closerange(0, 5)  # EOF for the worker now, before the (slow) address-space teardown
        os._exit(0)


# ------------------------------------------------------------------------------------------ fork server


def zygote_main(sock, workdir, install_filter):
    """The fork server: forked by the worker before any job existed, it never sees job data.

    Requests on ``sock`` (a SOCK_SEQPACKET pair with the worker): ``f`` forks a new child and answers with its
    pid and the worker's ends of the child's five pipes (SCM_RIGHTS); ``w`` + pid waits for that child and
    answers with its wait status and CPU time. The child reads its job from its own pipe, so no job, answer or
    value of any earlier program is ever in the memory a program starts from.
    """
    import _socket

    try:
        try:
            os.setsid()  # its own session and process group: a program's kill(0, ...) cannot reach it
        except OSError:
            pass
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        keep = sock.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, 1 << 16)
        gc.freeze()
        rights = (_socket.SOL_SOCKET, _socket.SCM_RIGHTS)

        def spawn():
            """Fork a child; (pid or 0, the worker's ends of its job/stdout/stderr/report pipes)."""
            ends = ()
            try:
                job_r, job_w = os.pipe()
                out_r, out_w = os.pipe()
                err_r, err_w = os.pipe()
                rep_r, rep_w = os.pipe()
                chk_r, chk_w = os.pipe()
                ends = (job_w, out_r, err_r, rep_r, chk_r)
                try:
                    pid = os.fork()
                    if pid == 0:
                        child_main(job_r, out_w, err_w, rep_w, chk_w, workdir, install_filter)
                finally:
                    for fd in (job_r, out_w, err_w, rep_w, chk_w):
                        os.close(fd)
                return pid, ends
            except OSError:
                for fd in ends:
                    os.close(fd)
                return 0, ()

        while True:
            req = sock.recv(16)
            if not req:
                break
            head = b""
            if req[:1] in (b"w", b"W"):  # wait for a child (and, for W, fork the next one in the same trip)
                try:
                    _, status, ru = os.wait4(struct.unpack("=i", req[1:5])[0], 0)
                    head = struct.pack("=iidd", 1, status, ru.ru_utime, ru.ru_stime)
                except (ChildProcessError, struct.error):
                    head = struct.pack("=iidd", 0, 0, 0.0, 0.0)
                if req[:1] == b"w":
                    sock.send(head)
                    continue
            pid, ends = spawn()
            if pid > 0:
                sock.sendmsg([head + struct.pack("=i", pid)], [(rights[0], rights[1], struct.pack("=5i", *ends))])
            else:
                sock.send(head + struct.pack("=i", 0))
            for fd in ends:
                os.close(fd)
    except BaseException:
        pass
    os._exit(0)


# ------------------------------------------------------------------------------------------ worker side


class Dirty(Exception):
    """The sandbox is not known clean after a program: the worker retires and the harness replaces it."""


class Worker:
    def __init__(self, tmp, preload, wipe_dirs=()):
        self.tmp = tmp
        self.wipe_dirs = tuple(wipe_dirs)
        self.workdir = os.path.join(tmp, "job")
        self.pending = (None, None)
        self.next = None
        self.is_init = os.getpid() == 1
        self.zygote = None  # (pid, socket)
        self.zygote_limits = None
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # pid 1 + default disposition: unsignallable from inside
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.install_filter = seccomp.prepare()
        self._prctl_setup()
        self.roots = {}
        for path in (tmp, *self.wipe_dirs):
            try:
                self.roots[path] = os.stat(path).st_mode & 0o7777
            except OSError:
                pass
        if preload:
            for name in PRELOAD:
                try:
                    __import__(name)
                except ImportError:
                    pass

    def _prctl_setup(self):
        prctl = seccomp.libc_prctl()
        prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0: no /proc/<pid>/mem or fd access for our uid
        if prctl(3, 0, 0, 0, 0) != 0:  # PR_GET_DUMPABLE
            raise SystemExit("sandbox worker: cannot make itself non-dumpable")
        if not self.is_init:
            prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come back to us

    # -- the fork server
    def start_zygote(self):
        import _socket

        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            ours.close()
            zygote_main(theirs, self.workdir, self.install_filter)
        theirs.close()
        ours.settimeout(5.0)
        self.zygote = (pid, ours)
        self.zygote_limits = self._read_limits(pid)

    @staticmethod
    def _read_limits(pid):
        try:
            with open(f"/proc/{pid}/limits", "rb") as f:
                return f.read()
        except OSError:
            return None

    def _zygote_state(self):
        fields = stat_fields(self.zygote[0])
        return fields[0] if fields else None

    def zygote_problem(self):
        """None when the fork server is alive, idle, unstopped, untraced and unchanged; else why not."""
        pid = self.zygote[0]
        fields = stat_fields(pid)
        if fields is None:
            return "the fork server is gone"
        if len(fields) < 39 or fields[0] not in (b"S", b"R"):
            return "the fork server was stopped or killed"
        if fields[16] != b"0" or fields[38] != b"0":  # nice, scheduling policy
            return "the fork server's scheduling was changed"
        if self.zygote_limits is not None and self._read_limits(pid) != self.zygote_limits:
            return "the fork server's limits were changed"
        return None

    # -- process cleanup
    def _parents(self):
        parents = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            fields = stat_fields(name)
            if fields is not None and len(fields) > 1 and fields[1].isdigit():  # else gone meanwhile
                parents[int(name)] = int(fields[1])
        return parents

    def _targets(self):
        """Every process that must not exist between jobs: all but us and the fork server."""
        me = os.getpid()
        zpid = self.zygote[0] if self.zygote else None
        spare = (me, zpid, self.next[0] if self.next else None)
        if self.is_init:
            return [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) not in spare]
        parents = self._parents()  # no pid namespace: our descendants (the fork server's children too)
        found, frontier = set(), {me}
        while frontier:
            frontier = {p for p, pp in parents.items() if pp in frontier and p not in found}
            found |= frontier
        return sorted(found - set(spare))

    def _signal_all(self):
        targets = self._targets()
        for pid in targets:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return targets

    def _reap(self):
        zpid = self.zygote[0] if self.zygote else None
        try:
            while True:
                pid, _ = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    return
                if pid == zpid:
                    raise Dirty("the fork server died")
        except ChildProcessError:
            return

    def kill_everything(self, reap=True):
        """Kill every process but us and the fork server; True once none is left (within 5 s)."""
        if not reap:  # signal only; the pending child must stay waitable for its status
            self._signal_all()
            return True
        deadline = time.monotonic() + 5.0
        while True:
            self._reap()
            if not self._signal_all():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)

    def wipe(self, path, budget_s=5.0):
        """Empty ``path`` without following symlinks, without recursion and without long paths; restore the
        directory's mode, times and extended attributes. Raises :class:`Dirty` if anything stays behind."""
        deadline = time.monotonic() + budget_s
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
        try:
            top = os.open(path, flags)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise Dirty(f"cannot open {path} to wipe it: {exc.strerror}") from None
        stack = [(top, None)]
        spill = 0
        try:
            os.chmod(top, self.roots.get(path, 0o755))
            while stack:
                if time.monotonic() > deadline:
                    raise Dirty(f"wiping {path} took too long")
                fd = stack[-1][0]
                descended = False
                with os.scandir(fd) as entries:
                    for entry in entries:
                        name = entry.name
                        if not entry.is_dir(follow_symlinks=False):
                            os.unlink(name, dir_fd=fd)
                            continue
                        try:
                            os.rmdir(name, dir_fd=fd)
                            continue
                        except OSError:
                            pass
                        if len(stack) >= 32:  # deep: move the subtree up and empty it from the top instead
                            spill += 1
                            os.rename(name, f".wipe-{spill}", src_dir_fd=fd, dst_dir_fd=top)
                            continue
                        os.chmod(name, 0o700, dir_fd=fd)
                        stack.append((os.open(name, flags, dir_fd=fd), name))
                        descended = True
                        break
                if descended:
                    continue
                done, name = stack.pop()
                if name is not None:
                    os.close(done)
                    os.rmdir(name, dir_fd=stack[-1][0])
            for attr in os.listxattr(top):
                os.removexattr(top, attr)
            os.utime(top, (0, 0))
        except OSError as exc:
            raise Dirty(f"cannot wipe {path}: {type(exc).__name__}: {exc.strerror}") from None
        finally:
            for fd, name in stack:
                if name is not None:
                    os.close(fd)
            os.close(top)

    # -- one job
    def _zwait(self, pid, fork_next=False):
        """(wait status, CPU seconds) of a finished child, reaped by the fork server (its parent); None if
        that fails (the fork server was stopped or killed: then the orphan is ours to reap, if it is).

        With ``fork_next`` the fork server also forks the next child in the same round trip; it is kept in
        ``self.next`` and spared by the sweep, and :meth:`cleanup` checks it is still healthy afterwards.
        """
        import _socket

        if self.zygote is not None and self._zygote_state() in (b"S", b"R", b"D"):  # stopped: do not wait on it
            try:
                self.zygote[1].send((b"W" if fork_next and self.next is None else b"w") + struct.pack("=i", pid))
                data, anc, _, _ = self.zygote[1].recvmsg(64, _socket.CMSG_SPACE(5 * 4))
                if len(data) == 28:
                    self._take_child(data[24:], anc)
                if len(data) >= 24:
                    ok, status, utime, stime = struct.unpack("=iidd", data[:24])
                    if ok:
                        return status, utime + stime
            except OSError:
                pass
        try:
            _, status, rusage = os.wait4(pid, os.WNOHANG)
            return (status, rusage.ru_utime + rusage.ru_stime) if _ else None
        except ChildProcessError:
            return None

    def _take_child(self, raw, anc):
        import _socket

        fds = []
        for level, kind, data in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds += struct.unpack(f"={len(data) // 4}i", data[: len(data) // 4 * 4])
        pid = struct.unpack("=i", raw)[0] if len(raw) == 4 else -1
        if pid <= 0 or len(fds) != 5:
            for fd in fds:
                os.close(fd)
            return False
        self.next = (pid, fds[0], fds[1:])
        return True

    def _drop_next(self):
        """Discard a pre-forked child that cannot be trusted any more (killed or stopped meanwhile)."""
        pid, job_w, fds = self.next
        self.next = None
        for fd in (job_w, *fds):
            os.close(fd)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._zwait(pid)

    def _next_healthy(self):
        pid = self.next[0]
        fields = stat_fields(pid)
        if fields is None:
            return False
        return len(fields) > 1 and fields[0] == b"S" and int(fields[1]) == self.zygote[0]

    def prefork(self):
        """Make sure the next child is waiting (from the fork server) before the next job arrives."""
        import _socket

        os.makedirs(self.workdir, mode=0o700, exist_ok=True)
        if self.next is not None:
            if self._next_healthy():
                return
            self._drop_next()
        sock = self.zygote[1]
        try:
            sock.send(b"f")
            msg, anc, _, _ = sock.recvmsg(16, _socket.CMSG_SPACE(5 * 4))
        except OSError as exc:
            raise Dirty(f"the fork server does not answer ({type(exc).__name__})") from None
        if not self._take_child(msg, anc):
            raise Dirty("the fork server is gone" if len(msg) != 4 else "cannot fork")

    def handle(self, job):
        """Run one job in the pre-forked child; answer as soon as its pipes close (cleanup comes after)."""
        lim = job["limits"]
        if self.next is None:
            self.prefork()
        pid, job_w, fds = self.next
        self.next = None
        start = time.monotonic()
        data = marshal.dumps(job)
        try:
            os.write(job_w, struct.pack(">I", len(data)))
            view = memoryview(data)
            while view:
                view = view[os.write(job_w, view) :]
        except OSError:
            pass  # the child died before reading: reported below as a lost program
        os.close(job_w)
        out_fd, err_fd, rep_fd, chk_fd = fds
        bufs = {fd: bytearray() for fd in fds}
        sizes = {fd: 0 for fd in fds}
        keep, cap = lim["excerpt"], lim["output"]
        deadline = start + lim["timeout"]
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        pidfd = os.pidfd_open(pid)
        poller.register(pidfd, select.POLLIN)
        self.pending = (pid, pidfd)
        open_fds = set(fds)
        end, killed, exited = None, False, False
        hard_stop = deadline + 10.0
        while open_fds:
            now = time.monotonic()
            if now > hard_stop:  # something refuses to die: give up; cleanup decides whether we survive
                end = end or "lost"
                break
            if exited and not killed:
                # the child is gone but something it started still holds a pipe: kill the leftovers
                self.kill_everything(reap=False)
                killed = True
            if end is None and now >= deadline:
                end = "timeout"
                self._kill_child(pid)
                killed = True
            wait_ms = 200 if end is not None else (deadline - now) * 1000 + 1
            for fd, _ in poller.poll(wait_ms):
                if fd == pidfd:
                    exited = True
                    poller.unregister(pidfd)
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    continue
                sizes[fd] += len(chunk)
                if fd == rep_fd or fd == chk_fd:
                    if sizes[fd] <= cap:
                        bufs[fd] += chunk
                elif len(bufs[fd]) < keep:
                    bufs[fd] += chunk[: keep - len(bufs[fd])]
                if end is None and (sizes[out_fd] + sizes[err_fd] > cap or sizes[rep_fd] > cap or sizes[chk_fd] > cap):
                    end = "output"
                    self._kill_child(pid)
                    killed = True
        wall = time.monotonic() - start
        for fd in fds:
            if fd in open_fds:
                poller.unregister(fd)
            os.close(fd)
        code = sig = None
        cpu = 0.0
        last = bytes(bufs[rep_fd][-200:]).rstrip().rpartition(b"\n")[2]
        finished = b'"k":"end"' in last
        # a program that did not finish its report may be dying from a signal (OOM kill, ...): wait briefly
        if exited or killed or select.select([pidfd], [], [], 0 if finished else 0.05)[0]:
            if not exited and not select.select([pidfd], [], [], 2.0)[0]:
                self._kill_child(pid)
            waited = self._zwait(pid, fork_next=True)
            self.pending = (None, pidfd)
            if waited is not None:
                status, cpu = waited
                if os.WIFEXITED(status):
                    code = os.WEXITSTATUS(status)
                elif os.WIFSIGNALED(status):
                    sig = os.WTERMSIG(status)
        if end is None:
            if sig in (signal.SIGXCPU, signal.SIGKILL) and cpu >= lim["cpu"] - 0.05:
                end = "cpu"
            else:
                end = "exit" if (code is not None or sig is not None) else "closed"
        return {
            "end": end,
            "code": code,
            "sig": sig,
            "cpu_s": round(cpu, 4),
            "wall_s": round(wall, 4),
            "stdout": bytes(bufs[out_fd]).decode("utf-8", "replace"),
            "stderr": bytes(bufs[err_fd]).decode("utf-8", "replace"),
            "stdout_bytes": sizes[out_fd],
            "stderr_bytes": sizes[err_fd],
            "report": bytes(bufs[rep_fd]).decode("utf-8", "replace"),
            "check": bytes(bufs[chk_fd]).decode("utf-8", "replace"),
        }

    def cleanup(self):
        """After answering: reap the child, kill whatever is left, wipe the work dirs, check the fork server.

        Raises :class:`Dirty` when the sandbox cannot be shown clean; the worker then retires.
        """
        pid, pidfd = self.pending
        self.pending = (None, None)
        if pid is not None:
            if not select.select([pidfd], [], [], 0.5)[0]:
                self._kill_child(pid)
            self._zwait(pid, fork_next=True)
        if pidfd is not None:
            os.close(pidfd)
        if not self.kill_everything():
            raise Dirty("processes of the program survived the sweep")
        for path in (self.tmp, *self.wipe_dirs):
            self.wipe(path)  # the work dir and anything else written beside it
        problem = self.zygote_problem()
        if problem:
            raise Dirty(problem)

    def _kill_child(self, pid):
        """SIGKILL the child and (signal only, no reaping) every other process of the program."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._signal_all()

    def shutdown(self):
        if self.zygote is not None:
            try:
                os.kill(self.zygote[0], signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.zygote = None
        if self.is_init:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.kill_everything()
        except Dirty:
            pass

    def serve(self):
        """Answer each job with one frame, then say ``ready`` (clean, next child waiting) or ``bye`` (retiring).

        Every frame carries the job's id, so the harness never reads one job's frames as another's answer.
        """
        self.start_zygote()
        self.prefork()
        write_frame(
            1, {"ready": None, "pid": os.getpid(), "uid": os.getuid(), "seccomp": self.install_filter is not None}
        )
        while True:
            job = read_frame(0)
            if job is None:
                self.shutdown()
                return
            jid = job.get("id")
            try:
                answer = self.handle(job)
            except Exception as exc:  # a bug or an exhausted sandbox: the harness replaces us
                answer = {"end": "worker-error", "msg": describe_error(exc)}
            answer["id"] = jid
            write_frame(1, answer)
            problem = "worker error" if answer["end"] == "worker-error" else None
            if problem is None:
                try:
                    self.cleanup()
                    self.prefork()
                except Dirty as exc:
                    problem = str(exc)
                except BaseException as exc:  # RecursionError, MemoryError, ...: never answer in-band
                    problem = "cleanup failed: " + describe_error(exc)
            if problem is not None:
                write_frame(1, {"bye": problem, "id": jid})
                self.shutdown()
                return
            write_frame(1, {"ready": jid})


def main(argv):
    tmp = "/tmp"
    preload = False
    wipe_dirs = []
    for arg in argv[1:]:
        if arg.startswith("--tmp="):
            tmp = arg.split("=", 1)[1]
        elif arg.startswith("--wipe="):
            wipe_dirs.append(arg.split("=", 1)[1])
        elif arg == "--preload":
            preload = True
    Worker(tmp, preload, wipe_dirs).serve()
    os._exit(0)  # skip interpreter finalisation: the sandbox is torn down right after


if __name__ == "__main__":
    main(sys.argv)
