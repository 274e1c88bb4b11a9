"""A small seccomp-BPF filter, built with ctypes and installed with prctl in each program's process.

Namespaces already take away the network, other processes, the host's mounts and (under bwrap) every
capability. The filter closes kernel attack surface that stays reachable from inside a namespace:

* ``ptrace``, ``process_vm_readv/writev``, ``pidfd_getfd``, ``kcmp``: no reaching into the trusted worker or
  into sibling processes (the worker is also non-dumpable).
* ``unshare``, ``setns``, ``clone``/``clone3`` with namespace flags, ``mount`` and the new mount API,
  ``pivot_root``, ``chroot``: no new user namespaces (a classic route to kernel bugs), no remounting.
* ``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring_*``, ``keyctl``/``add_key``/``request_key``,
  module loading, kexec, reboot, swap, ``syslog``, clock setting, ``iopl``/``ioperm``, ``modify_ldt``.
* ``socket`` for anything but ``AF_UNIX`` (there is no network in the namespace anyway).
* System V IPC (``shmget``, ``semget``, ``msgget``) and POSIX message queues (``mq_*``): their objects would
  outlive a program inside a pool worker's IPC namespace and could pass data to the next program (POSIX
  shm/semaphores live in /dev/shm, which the worker wipes).
* ``prlimit64``, ``setpriority``, ``sched_set*``, ``migrate_pages``/``move_pages`` on any process but
  the caller: the pool's fork server and worker run as the same uid, and later programs inherit their limits.
* The x32 ABI and foreign architectures are refused (the classic filter bypass).

Denied calls fail with EPERM (``clone3`` with ENOSYS so libc falls back to ``clone``). The filter survives
``execve`` and is inherited by every child. Only x86_64 is covered; elsewhere :func:`prepare` returns None and
the namespaces, rlimits and cgroups remain the protection.

Standard library only: this file is copied into the sandbox next to ``runner.py``. Calls go through the
bare ``_ctypes`` module (``ctypes`` itself costs ~4 ms of start-up per fresh sandbox), with ``ctypes`` as the
fallback, and the installer verifies the result in /proc/self/status.
"""

from __future__ import annotations

import os
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
EPERM, ENOSYS = 1, 38
AF_UNIX = 1
CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

LD_W_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 39, 22, 2

DENIED_X86_64 = {
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "pidfd_getfd": 438,
    "kcmp": 312,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "unshare": 272,
    "setns": 308,
    "bpf": 321,
    "perf_event_open": 298,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "userfaultfd": 323,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "reboot": 169,
    "swapon": 167,
    "swapoff": 168,
    "syslog": 103,
    "acct": 163,
    "quotactl": 179,
    "open_by_handle_at": 304,
    "name_to_handle_at": 303,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "vhangup": 153,
    "iopl": 172,
    "ioperm": 173,
    "settimeofday": 164,
    "clock_settime": 227,
    "adjtimex": 159,
    "fanotify_init": 300,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "move_mount": 429,
    "open_tree": 428,
    "mount_setattr": 442,
    "personality": 135,
    "lookup_dcookie": 212,
    "uselib": 134,
    "modify_ldt": 154,
    "shmget": 29,
    "semget": 64,
    "msgget": 68,
    # POSIX message queues live in the IPC namespace, not in a wiped directory: they would outlive a program
    "mq_open": 240,
    "mq_unlink": 241,
    "mq_timedsend": 242,
    "mq_timedreceive": 243,
    "mq_notify": 244,
    "mq_getsetattr": 245,
    "ioprio_set": 251,
}
# calls allowed only on the calling process itself: on another pid of the same uid (the pool's fork server,
# the worker) they would change the limits, priority or CPUs every later program starts with.
# (syscall number, offsets of the 32-bit argument words that must be 0)
SELF_ONLY_X86_64 = {
    "prlimit64": (302, (16,)),  # pid
    "setpriority": (141, (16, 24)),  # which == PRIO_PROCESS, who == 0
    "sched_setparam": (142, (16,)),
    "sched_setscheduler": (144, (16,)),
    "sched_setaffinity": (203, (16,)),
    "sched_setattr": (314, (16,)),
    "migrate_pages": (256, (16,)),
    "move_pages": (279, (16,)),
}
SYS_SOCKET, SYS_CLONE, SYS_CLONE3 = 41, 56, 435


def _ins(code, k, jt=0, jf=0):
    return struct.pack("=HBBI", code, jt, jf, k)


def build_x86_64():
    """Return the filter program as bytes (sock_filter[])."""
    prog = [
        _ins(LD_W_ABS, 4),  # arch
        _ins(JEQ, AUDIT_ARCH_X86_64, 1, 0),
        _ins(RET, RET_KILL_PROCESS),
        _ins(LD_W_ABS, 0),  # syscall number
        _ins(JGE, 0x40000000, 0, 1),  # x32 ABI
        _ins(RET, RET_ERRNO | EPERM),
    ]
    for nr in sorted(DENIED_X86_64.values()):
        prog += [_ins(JEQ, nr, 0, 1), _ins(RET, RET_ERRNO | EPERM)]
    for nr, words in SELF_ONLY_X86_64.values():
        n = len(words)
        prog.append(_ins(JEQ, nr, 0, 2 * n + 2))
        for k, offset in enumerate(words):
            prog += [_ins(LD_W_ABS, offset), _ins(JEQ, 0, 0, 2 * (n - 1 - k) + 1)]
        prog += [_ins(RET, RET_ALLOW), _ins(RET, RET_ERRNO | EPERM)]
    prog += [
        _ins(JEQ, SYS_CLONE3, 0, 1),
        _ins(RET, RET_ERRNO | ENOSYS),
        _ins(JEQ, SYS_SOCKET, 0, 4),
        _ins(LD_W_ABS, 16),  # args[0] (domain), low word
        _ins(JEQ, AF_UNIX, 0, 1),
        _ins(RET, RET_ALLOW),
        _ins(RET, RET_ERRNO | EPERM),
        _ins(JEQ, SYS_CLONE, 0, 3),
        _ins(LD_W_ABS, 16),  # args[0] (flags), low word
        _ins(JSET, CLONE_NS_FLAGS, 0, 1),
        _ins(RET, RET_ERRNO | EPERM),
        _ins(RET, RET_ALLOW),
    ]
    return b"".join(prog)


def libc_prctl():
    """prctl(option, a2, a3, a4, a5) -> int, via the bare ``_ctypes`` module (importing ``ctypes`` costs ~4 ms
    per fresh sandbox); falls back to ``ctypes``. Every argument is passed as an unsigned long."""
    try:
        import _ctypes

        class c_ulong(_ctypes._SimpleCData):
            _type_ = "L"

        func = _ctypes.dlsym(_ctypes.dlopen(None, 2), "prctl")  # RTLD_NOW

        def prctl(*args):
            return _ctypes.call_function(func, tuple(c_ulong(a) for a in args))

        if prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) in (0, 1):
            return prctl
    except Exception:  # noqa: BLE001 - any surprise: use the public API
        pass
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    libc.prctl.restype = ctypes.c_int
    return libc.prctl


def _buffer(data):
    """A C buffer holding ``data`` and its address, kept alive by the returned object."""
    try:
        import _ctypes

        class c_char(_ctypes._SimpleCData):
            _type_ = "c"

        arr = type("Buf", (_ctypes.Array,), {"_type_": c_char, "_length_": len(data)})
        buf = arr.from_buffer_copy(data)
        return buf, _ctypes.addressof(buf)
    except Exception:  # noqa: BLE001
        import ctypes

        buf = ctypes.create_string_buffer(data, len(data))
        return buf, ctypes.addressof(buf)


def seccomp_mode():
    """The calling process's seccomp mode from /proc/self/status (0 none, 2 filter), or -1 if unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Seccomp:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return -1


def prepare():
    """Build the filter and resolve prctl up front (before fork); return an installer or None.

    The installer sets ``no_new_privs`` and installs the filter in the calling process, then checks
    /proc/self/status; it returns an error string or None.
    """
    if os.uname().machine != "x86_64" or struct.calcsize("P") != 8:
        return None
    try:
        prctl = libc_prctl()
    except Exception:  # noqa: BLE001 - no way to call prctl: no filter
        return None
    code = build_x86_64()
    prog_buf, prog_addr = _buffer(code)
    fprog_buf, fprog_addr = _buffer(struct.pack("=HxxxxxxQ", len(code) // 8, prog_addr))
    keep = (prog_buf, fprog_buf)  # the buffers must outlive the installer

    def install():
        if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return "prctl(PR_SET_NO_NEW_PRIVS) failed"
        if prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog_addr, 0, 0) != 0:
            return "prctl(PR_SET_SECCOMP) failed"
        if seccomp_mode() not in (2, -1):
            return "the seccomp filter is not active after installing it"
        return None

    install.keep = keep
    return install
