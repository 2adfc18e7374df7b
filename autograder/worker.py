"""The grading worker: the only process that runs submission code.

autograder.sandbox starts it as ``python -s -B -c <this file's text> worker
<wire.py's text>`` and sends its config (the temporary folder holding a copy of
the submission, the limits) as the first message on its stdin; or, to save the
start-up, as ``... zygote <wire.py's text>``: a zygote that imports numpy once,
runs no submission code, and forks one such worker per request (see
``zygote``). Either way, before a worker imports any submission file it locks
itself in: resource limits, a
uid of its own when started as root (never real root), new user, network,
mount and pid namespaces, and a Landlock ruleset that lets it read only the
Python installation and the submission folder. Then it serves requests from
the grader over its stdin/stdout pipes until told to stop.

It depends on the standard library and numpy only, and is never imported by
the grader: it reaches the child as source text, so the child needs no read
access to the grader's package (where the rubric lives). Messages are framed
by autograder/wire.py, shared with the grader. Values come back as
descriptors: {"array": key}, {"none": true}, {"seq": [...], "type": name},
{"map": {...}}, {"other": type name}.
"""

import sys

sys.path[:] = [p for p in sys.path if p not in ("", ".")]  # never import from the cwd
sys.dont_write_bytecode = True

import ctypes  # noqa: E402
import dis  # noqa: E402
import importlib  # noqa: E402
import importlib.machinery  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import stat  # noqa: E402
import traceback  # noqa: E402
import types  # noqa: E402


def _load_wire():
    """autograder/wire.py, whose text the grader passes as this program's last argument."""
    module = types.ModuleType("wire")
    exec(compile(sys.argv[2], "wire.py", "exec"), module.__dict__)
    return module


wire = _load_wire()
PROTECTIONS = []  # what took effect, reported to the grader in the hello message
ISOLATION = {"namespaces": False, "landlock": False, "unprivileged": False,
             "secrets_readable": []}  # the same, as facts the grader decides on
CONFIG = {}  # the grader's settings for this worker
MAX_OPEN_FILES = 64
# A uid of this worker's own when started as root: its pid is unique while it
# runs, so no two workers share a uid (and none can signal another), and
# RLIMIT_NPROC, counted per uid, caps this worker's processes alone.
WORKER_UID_BASE = 1_600_000_000

# Kernel constants (linux/prctl.h, linux/sched.h, linux/mount.h, linux/landlock.h).
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND = 1, 2, 4, 32, 4096
MS_REC, MS_PRIVATE = 0x4000, 0x40000


# --- locking in ------------------------------------------------------------

def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _error():
    return os.strerror(ctypes.get_errno())


def die_with_parent():
    """SIGKILL this process when its parent dies: a killed grader leaves no worker behind."""
    if _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(f"prctl(PR_SET_PDEATHSIG) failed: {_error()}")


def set_limits(config):
    mb = 1024 * 1024
    limits = [
        (resource.RLIMIT_AS, config["memory_mb"] * mb),
        (resource.RLIMIT_CPU, config["cpu_seconds"]),
        (resource.RLIMIT_CORE, 0),
        # Few files open at once: no hoard of memfds outside the address-space cap
        # (each is also held to RLIMIT_FSIZE, set last).
        (resource.RLIMIT_NOFILE, MAX_OPEN_FILES),
    ]
    for kind, value in limits:
        hard = value + 1 if kind == resource.RLIMIT_CPU else value
        resource.setrlimit(kind, (value, hard))
    # Writing past the file-size cap must fail the write, not kill the worker.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    PROTECTIONS.append(f"limits: {config['memory_mb']} MiB memory per process, "
                       f"{config['cpu_seconds']} s CPU, {config['output_bytes']} bytes per "
                       f"file written, {MAX_OPEN_FILES} open files")


def leave_root(config):
    """Never run submission code as real root: switch to a uid of this worker's own.

    The Python this worker runs may live where only root can enter (a venv
    under /root): in a mount namespace of its own, made while still root, the
    folders that keep it out are covered by a tmpfs holding just what the
    worker must read, so the new uid reaches Python and nothing else there.
    """
    uid = WORKER_UID_BASE + os.getpid()
    needed = [*config["readable"], config["workdir"]]
    closed = _closed_folders(needed)  # none left when the zygote covered them (cover_once)
    if closed:
        problem = _reach_through(closed, needed)
        if problem:
            PROTECTIONS.append(f"running as root: {problem}, so no other uid can run Python "
                               f"here")
            return
    for path in [config["workdir"], *(os.path.join(config["workdir"], name)
                                      for name in os.listdir(config["workdir"]))]:
        os.chown(path, uid, uid, follow_symlinks=False)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    # Counted per uid, and this uid is this worker's alone: its whole process count.
    resource.setrlimit(resource.RLIMIT_NPROC, (config["processes"], config["processes"]))
    reached = ""
    if closed:
        reached = f", Python reached through {len(closed)} covered folders"
    elif COVERED_BY_ZYGOTE:
        reached = (f", Python reached through {COVERED_BY_ZYGOTE} folders the zygote "
                   f"covered")
    PROTECTIONS.append(f"not root: uid {uid}, this worker's own (at most "
                       f"{config['processes']} processes{reached})")
    ISOLATION["unprivileged"] = True


COVERED_BY_ZYGOTE = 0  # folders cover_once covered in the zygote, for every worker it forks


def cover_once(paths):
    """In the zygote, as root: leave_root's reach-through to ``paths``, done once for
    every worker it will fork (they share this mount namespace), instead of about
    two hundred mounts in each. Returns the reply: {"covered": n} or {"error": text}.

    Each worker still checks, as leave_root, that nothing it needs is closed.
    """
    global COVERED_BY_ZYGOTE
    if os.geteuid() != 0 or not isinstance(paths, list):
        return {"covered": 0}
    paths = [str(p) for p in paths]
    closed = _closed_folders(paths)
    covered = [p for p in paths if p in closed]  # a cover would hide what is made in it later
    if covered:
        return {"error": f"{covered[0]} is itself closed to other users"}
    problem = _reach_through(closed, paths) if closed else None
    if problem:
        return {"error": problem}
    lost = [p for p in paths if not os.path.exists(p)]
    if lost:
        return {"error": f"{lost[0]} is not reachable once covered"}
    COVERED_BY_ZYGOTE = len(closed)
    return {"covered": len(closed)}


def _closed_folders(paths):
    """The top-most folders on the way to ``paths`` that other users may not enter."""
    closed, entered = set(), set()  # a few folders hold all ~270 paths: stat each once
    for path in paths:
        for folder in reversed(_ancestors(path)):
            if folder in closed:
                break
            if folder in entered:
                continue
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                closed.add(folder)
                break
            entered.add(folder)
    return sorted(closed)


def _ancestors(path):
    """The folders above ``path``, nearest first, "/" left out."""
    found, folder = [], os.path.dirname(path)
    while folder != "/":
        found.append(folder)
        folder = os.path.dirname(folder)
    return found


def _reach_through(closed, needed):
    """Cover each closed folder with an open tmpfs holding bind mounts of the needed
    paths beneath it; None when done, else what failed."""
    libc = _libc()
    if libc.unshare(CLONE_NEWNS) != 0:
        return f"no mount namespace ({_error()})"
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return f"mounts not private ({_error()})"
    for folder in closed:
        # Paths beneath the folder stay reachable, once it is covered, through a
        # descriptor opened before: /proc/self/fd/N/... looks up the original.
        original = os.open(folder, os.O_PATH | os.O_CLOEXEC)
        if libc.mount(b"tmpfs", folder.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                      b"size=64k,mode=0755") != 0:
            return f"{folder} could not be covered ({_error()})"
        for path in needed:
            if not path.startswith(folder + "/"):
                continue
            source = f"/proc/self/fd/{original}/{os.path.relpath(path, folder)}"
            if os.path.isdir(source):
                os.makedirs(path, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
            if libc.mount(source.encode(), path.encode(), None, MS_BIND | MS_REC, None) != 0:
                return f"{path} could not be bound ({_error()})"
        # The new folders keep their originals' times: Python's import system
        # lists a folder again only when its mtime changes, and under Landlock
        # the standard library's folder cannot be listed.
        made = {os.path.dirname(p) for p in needed if p.startswith(folder + "/")}
        for path in made | {a for p in made for a in _ancestors(p) if a.startswith(folder)}:
            times = os.stat(f"/proc/self/fd/{original}/{os.path.relpath(path, folder)}")
            os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
        os.close(original)
        if libc.mount(None, folder.encode(), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                      None) != 0:
            return f"{folder} could not be made read-only ({_error()})"
    return None


def enter_namespaces(config):
    """New user, net, mount and pid namespaces; returns True in the process that goes on."""
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID
    if libc.unshare(flags) != 0:
        PROTECTIONS.append(f"namespaces: unavailable ({_error()})")
        return True
    _map_ids(uid, gid)
    private = libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) == 0
    bounded = private and _bounded_workdir(libc, config["workdir"], config["disk_mb"])
    hidden = _hide_paths(libc, config["hide"]) if private else 0
    # A second user and mount namespace locks those mounts: from here on they
    # cannot be undone, even with the capabilities a user namespace gives.
    if hidden and libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0:
        _map_ids(uid, gid)
    disk = f", its folder capped at {config['disk_mb']} MiB" if bounded else ""
    PROTECTIONS.append(f"namespaces: user (uid {uid} inside and out), network (no "
                       f"interfaces), pid, mount ({hidden} grader folders hidden{disk})")
    ISOLATION["namespaces"] = True
    # The pid namespace takes effect for children: fork, and let the child be
    # its init, so that when it dies every process it started dies with it.
    # The child waits until the grader has its pid, so that message comes before
    # the child's hello on the shared pipe.
    go_read, go_write = os.pipe()
    child = os.fork()
    if child == 0:
        die_with_parent()
        os.close(go_write)
        os.read(go_read, 1)
        os.close(go_read)
        return True
    os.close(go_read)
    send(config["_resp_fd"], {"pid": child})
    os.write(go_write, b"1")
    os.close(go_write)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    os._exit(128 - code if code < 0 else code)  # a signal shows as 128 + its number


def _map_ids(uid, gid):
    """Keep our own uid and gid inside a new user namespace."""
    # After leaving root the process is not dumpable, which makes /proc/self
    # root's and the maps unwritable: dumpable just for the writes.
    libc = _libc()
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            try:
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
            except OSError as error:  # then the ids show as the overflow id inside
                PROTECTIONS.append(f"namespaces: could not write {name} ({error.strerror})")
    finally:
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _bounded_workdir(libc, workdir, megabytes):
    """Put the worker's folder on a size-capped tmpfs, with the submission's files in it."""
    files = {}
    for name in os.listdir(workdir):
        path = os.path.join(workdir, name)
        if name.endswith(".py") and os.path.isfile(path):
            with open(path, "rb") as f:
                files[name] = f.read()
    options = f"size={megabytes}m,mode=0700".encode()
    if libc.mount(b"tmpfs", workdir.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
        return False
    os.chdir(workdir)  # the new, empty tmpfs (output.txt stays open underneath it)
    for name, data in files.items():
        with open(name, "wb") as f:
            f.write(data)
    return True


def _hide_paths(libc, paths):
    hidden = 0
    for path in paths:
        if os.path.isdir(path) and libc.mount(
                b"tmpfs", path.encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                b"size=4k") == 0:
            hidden += 1
    return hidden


# Landlock (Linux >= 5.13), through raw syscalls: the standard library has no binding.
SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}  # create, add rule, restrict
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_TRUNCATE, FS_IOCTL_DEV = 1 << 14, 1 << 15
FS_FILE_ONLY = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
FS_READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1                      # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1           # ABI 6
FS_ALL_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}


def _fs_all(abi):
    return FS_ALL_BY_ABI.get(abi, (1 << 16) - 1)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]


def apply_landlock(config):
    numbers = SYSCALLS.get(os.uname().machine)
    if numbers is None:
        PROTECTIONS.append("landlock: unsupported architecture")
        return
    create, add_rule, restrict = numbers
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(create, None, ctypes.c_size_t(0),
                       ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    if abi < 1:
        PROTECTIONS.append(f"landlock: unavailable ({_error()})")
        return
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    attr = _RulesetAttr(_fs_all(abi), net, scoped)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        PROTECTIONS.append(f"landlock: could not create a ruleset ({_error()})")
        return
    rules = [(path, FS_READ) for path in config["readable"]]
    rules += [(config["workdir"], _fs_all(abi)), ("/dev/null", FS_WRITE_FILE | FS_READ_FILE)]
    for path, access in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # not on this machine: nothing to allow
        if not os.path.isdir(path):
            access &= FS_FILE_ONLY
        rule = _PathBeneath(access & _fs_all(abi), fd)
        added = libc.syscall(add_rule, ctypes.c_int(ruleset),
                             ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule),
                             ctypes.c_uint32(0))
        os.close(fd)
        if added != 0:  # restricting now might lock Python out: report, do not restrict
            PROTECTIONS.append(f"landlock: could not allow {path} ({_error()})")
            os.close(ruleset)
            return
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:  # landlock_restrict_self needs it
        PROTECTIONS.append(f"landlock: no_new_privs refused ({_error()})")
        return
    if libc.syscall(restrict, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
        PROTECTIONS.append(f"landlock: restrict failed ({_error()})")
        return
    os.close(ruleset)
    scope = ", no signals to or sockets with outside processes" if abi >= 6 else ""
    PROTECTIONS.append(f"landlock ABI {abi}: reads only Python and the submission, "
                       f"writes only its temp folder, no TCP{scope}")
    ISOLATION["landlock"] = True


# --- what submission code may import ----------------------------------------

ALLOWED_THIRD_PARTY = ("numpy",)


class ImportGuard:
    """Refuses imports of anything but the standard library, numpy and the submission.

    A submission module is checked before it runs, however it is imported:
    readable as UTF-8, compiles, and imports nothing it may not.
    """

    def __init__(self, local_modules):
        self.local = set(local_modules)

    def allowed(self, name):
        top = name.partition(".")[0]
        return (top in sys.stdlib_module_names or top in sys.builtin_module_names
                or top in ALLOWED_THIRD_PARTY or top in self.local)

    def audit(self, event, args):
        """An audit hook: submission code can remove the finder, never this hook."""
        if event == "import" and args and isinstance(args[0], str) and not self.allowed(args[0]):
            raise ImportError(f"submissions may import only numpy, the standard library and "
                              f"each other; {args[0]!r} is not allowed", name=args[0])

    def find_spec(self, name, path=None, target=None):
        if name in self.local:
            problem, code, origin = checked_module(name, self)
            if problem:
                raise ImportError(problem, name=name)
            spec = importlib.machinery.ModuleSpec(name, CompiledModule(code), origin=origin)
            spec.has_location = True  # __file__, for tracebacks and inspect
            return spec
        if self.allowed(name):
            return None
        raise ImportError(f"submissions may import only numpy, the standard library and "
                          f"each other; {name!r} is not allowed", name=name)


class CompiledModule:
    """The loader of a submission module: runs the code its check compiled, so that a
    file is parsed and compiled once, not once to check it and again to import it."""

    def __init__(self, code):
        self.code = code

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(self.code, module.__dict__)


IMPORT_NAME = dis.opmap["IMPORT_NAME"]


def imported_modules(code):
    """The modules ``code`` imports by name (absolute imports, at any depth of its
    functions and classes), read from its bytecode: cheaper than building its syntax tree.

    Every import statement compiles to IMPORT_NAME right after loading its level and
    its fromlist; a relative one (level > 0) is left out.
    """
    names, pending = [], [code]
    while pending:
        code = pending.pop()
        pending += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        if IMPORT_NAME not in code.co_code[::2]:  # wordcode: every other byte is an opcode
            continue
        before = [None, None]  # the two instructions before this one
        for instruction in dis.get_instructions(code):
            if instruction.opcode == IMPORT_NAME and instruction.argval:
                # Relative only when the level is plainly a constant: anything else (an
                # EXTENDED_ARG before a constant's large index) counts as absolute.
                loads_level = before[0] is not None and before[0].opname in (
                    "LOAD_CONST", "LOAD_SMALL_INT")
                level = before[0].argval if loads_level else 0
                if not (type(level) is int and level > 0):
                    names.append(instruction.argval)
            before = [before[1], instruction]
    return names


def forbidden_imports(code, guard):
    return sorted({n for n in imported_modules(code) if not guard.allowed(n)})


def checked_module(name, guard):
    """(why submission module ``name`` cannot be used or None, its code, its path)."""
    path = os.path.join(os.getcwd(), name + ".py")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return f"{name}.py is missing from the submission", None, path
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return (f"{name}.py is not valid UTF-8 ({error.reason} at byte {error.start})", None,
                path)
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None)
        return (f"{name}.py does not compile: {error.__class__.__name__}: "
                f"{getattr(error, 'msg', error)}" + (f" (line {line})" if line else ""), None,
                path)
    bad = forbidden_imports(code, guard)
    if bad:
        return (f"{name}.py imports {', '.join(bad)}: submissions may import only numpy, "
                f"the standard library and each other"), None, path
    return None, code, path


def load_module(name, guard, loaded):
    """Import submission module ``name`` (the guard checks it first)."""
    if name not in loaded:
        if name != "layers":
            install_reference_layers(CONFIG, guard, loaded)
        if name not in guard.local:
            raise ImportError(f"{name}.py is missing from the submission")
        loaded[name] = importlib.import_module(name)
    return loaded[name]


# --- values across the pipe ---------------------------------------------------

def _wire(array):
    """``array`` as the grader reads it: long doubles become float64."""
    import numpy as np
    if array.dtype.kind == "f" and array.dtype.itemsize > 8:
        array = array.astype(np.float64)
    return np.asarray(array, order="C")


def encode(value, arrays, depth=0):
    import numpy as np
    if value is None:
        return {"none": True}
    if isinstance(value, (bool, int, float, np.bool_)) or (
            isinstance(value, np.number) and value.dtype.kind in "biuf"):
        key = f"a{len(arrays)}"
        arrays[key] = _wire(np.asarray(value))
        return {"array": key, "type": type(value).__name__}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" or value.size > 5_000_000:
            return {"other": f"ndarray of dtype {value.dtype} and shape {value.shape}"}
        key = f"a{len(arrays)}"
        arrays[key] = _wire(value)
        return {"array": key, "type": "ndarray"}
    if isinstance(value, (tuple, list)) and depth < 3 and len(value) <= 100_000:
        if value and all(isinstance(v, (int, float, np.number)) for v in value):
            key = f"a{len(arrays)}"
            arrays[key] = np.asarray(value, dtype=np.float64)
            return {"array": key, "type": type(value).__name__}
        if len(value) <= 20:
            return {"seq": [encode(v, arrays, depth + 1) for v in value],
                    "type": type(value).__name__}
    if isinstance(value, dict) and depth < 3 and len(value) <= 50:
        return {"map": {str(k): encode(v, arrays, depth + 1) for k, v in value.items()}}
    return {"other": type(value).__name__}


def decode_args(specs, arrays, handles):
    return [resolve(spec, arrays, handles) for spec in specs]


def resolve(spec, arrays, handles):
    """An argument: {"array": key}, {"ref": [handle, index...]}, {"seq": [...]},
    {"map": {...}}, {"json": value}."""
    if "array" in spec:
        return arrays[spec["array"]].copy()
    if "seq" in spec:
        items = [resolve(item, arrays, handles) for item in spec["seq"]]
        return items if spec.get("type") == "list" else tuple(items)  # hidden_dims: a list
    if "map" in spec:
        return {key: resolve(item, arrays, handles) for key, item in spec["map"].items()}
    if "ref" in spec:
        value = handles[spec["ref"][0]]
        for index in spec["ref"][1:]:
            use_item = isinstance(index, int) or isinstance(value, dict)
            value = value[index] if use_item else getattr(value, index)
        return value
    return spec["json"]


def target_of(name, handles, guard, loaded):
    """``module.function`` of the submission, or ``$handle.method``."""
    if name.startswith("$"):
        handle, _, attribute = name[1:].partition(".")
        return getattr(handles[handle], attribute)
    module, _, attribute = name.partition(".")
    return getattr(load_module(module, guard, loaded), attribute)


def serve(request, arrays, handles, guard, loaded):
    op = request["op"]
    if op == "call":
        function = target_of(request["target"], handles, guard, loaded)
        args = decode_args(request.get("args", []), arrays, handles)
        kwargs = {k: resolve(v, arrays, handles) for k, v in request.get("kwargs", {}).items()}
        if request.get("fp_errors"):  # stability cases: overflow is an error, not a warning
            import numpy as np
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                result = function(*args, **kwargs)
        else:
            result = function(*args, **kwargs)
        if request.get("echo_args"):  # to see whether the call changed its inputs
            result = (result, tuple(args))
    elif op == "hold":  # values kept for later calls, without a call
        result = tuple(decode_args(request["args"], arrays, handles))
    elif op == "probe_model":
        result = ProbeModel({k: v.copy() for k, v in arrays.items()})
    elif op == "set_params":
        params = handles[request["model"]].params
        for name, key in request["params"]:
            params[name] = arrays[key].copy()
        result = None
    elif op == "seq":  # several requests as one, in order: the reply is the last one's
        result = None
        for part in request["requests"]:
            result = serve(part, arrays, handles, guard, loaded)
    elif op == "get":
        result = resolve({"ref": request["ref"]}, arrays, handles)
    elif op == "descend":
        result = descend(handles[request["model"]],
                         *decode_args(request["args"], arrays, handles),
                         int(request["steps"]), float(request["learning_rate"]))
    elif op == "usage":  # peak memory (KiB) and CPU seconds of this process
        import numpy as np
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result = np.array([usage.ru_maxrss, usage.ru_utime + usage.ru_stime])
    elif op == "load":
        load_module(request["module"], guard, loaded)
        result = None
    else:
        raise ValueError(f"unknown op {op!r}")
    if request.get("keep"):
        handles[request["keep"]] = result
    return result


def descend(model, X, y, steps, learning_rate):
    """Full-batch gradient descent on ``model`` with its own loss, as the grader would
    drive it call by call: before each step ``model.params[k]`` is set to (a copy of)
    the descent's own ``params[k]``, which then becomes ``params[k] - learning_rate *
    grads[k]`` (in float64).

    Returns {"steps": steps done, "params": the params, "stopped": None}, or with
    "stopped": what the loss returned at the first step whose grads are not finite
    arrays of the params' shapes (the grader says what is wrong with them). Run here,
    not as a request per step: the grader judges only the params it ends with.
    """
    import numpy as np
    start = model.params
    if not isinstance(start, dict):
        return {"steps": 0, "params": start, "stopped": None}
    params = {name: np.array(value, dtype=np.float64) for name, value in start.items()}
    for step in range(steps):
        current = model.params
        for name, value in params.items():
            current[name] = value.copy()
        result = model.loss(X, y)
        grads = result[1] if isinstance(result, (tuple, list)) and len(result) == 2 else None
        if not (isinstance(grads, dict) and set(grads) == set(params)
                and all(np.shape(grads[k]) == params[k].shape
                        and np.all(np.isfinite(grads[k])) for k in params)):
            return {"steps": step, "params": params, "stopped": result}
        params = {name: value - learning_rate * np.asarray(grads[name], np.float64)
                  for name, value in params.items()}
    current = model.params  # where the next descent (or call) starts
    if isinstance(current, dict):
        for name, value in params.items():
            current[name] = value.copy()
    return {"steps": steps, "params": params, "stopped": None}


# --- calls the grading process answers -----------------------------------------

CHANNEL = {}  # "request" and "response" file descriptors, set by main


def ask_grader(name, args):
    """Have the grading process compute ``name(*args)`` (a reference layer, a probe's loss).

    The reference never enters this process: only the values of this one call come back.
    """
    payload = {}
    header = {"callback": name, "args": [encode(a, payload) for a in args]}
    send(CHANNEL["response"], header, payload)
    reply, arrays = receive(CHANNEL["request"])
    if not reply.get("ok"):
        raise ValueError(str(reply.get("error", "the grader refused the call"))[:300])
    return resolve(reply["result"], arrays, {wire.CALLBACK_ARGS: tuple(args)})


def _proxy(name):
    def proxy(*args):
        return ask_grader(name, args)
    proxy.__name__ = proxy.__qualname__ = name
    return proxy


def install_reference_layers(config, guard, loaded):
    """Swap the listed layer functions for calls to the grader's reference, once.

    The net's checks then do not depend on a layer that failed its own checks.
    """
    names = config.get("reference_functions") or []
    if not names or config.get("_reference_installed"):
        return
    config["_reference_installed"] = True
    module = None
    if not config.get("replace_layers_module"):
        try:
            module = load_module("layers", guard, loaded)
        except BaseException:  # noqa: B036 - an unusable layers.py: every layer is replaced
            module = None
    if module is None:
        module = types.ModuleType("layers")
        sys.modules["layers"] = loaded["layers"] = module
    for name in names:
        setattr(module, name, _proxy(name))


class ProbeModel:
    """A model for ``train`` whose loss and predictions the grading process computes.

    ``train`` is then judged on its own: only the parameters it ends with count.
    """

    def __init__(self, params):
        self.params = params

    def loss(self, X, y=None):
        return ask_grader("probe_loss", [self.params, X, y])

    def predict(self, X):
        return ask_grader("probe_predict", [self.params, X])


# --- the pipe -------------------------------------------------------------

_UNREAD = {}  # fd -> bytes read ahead: a request in one read, not one per part of its frame


def _read_exact(fd, n):
    return wire.read_exact(_UNREAD.setdefault(fd, bytearray()), n,
                           lambda count: os.read(fd, count),
                           lambda view: os.readv(fd, [view]))


def _write_all(fd, pieces):
    wire.write_all(pieces, lambda views: os.writev(fd, views))


def receive(fd):
    return wire.receive(lambda n: _read_exact(fd, n), wire.MAX_REQUEST_PAYLOAD)


def send(fd, header, arrays=None):
    _write_all(fd, wire.frames(header, arrays or {}))


class CappedStream:
    """sys.stdout/sys.stderr for submission code: keeps the first bytes, drops the rest."""

    def __init__(self, fd, budget):
        self.fd, self.budget = fd, budget

    def write(self, text):
        data = str(text).encode("utf-8", "replace")[: max(self.budget, 0)]
        if data:
            self.budget -= len(data)
            try:
                _write_all(self.fd, data)
            except OSError:
                self.budget = 0
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def lock_in(config):
    """Every protection, in order, before any submission code is imported."""
    die_with_parent()
    import numpy  # noqa: F401  (loaded before the lock, with its shared libraries)

    # unshare(CLONE_NEWUSER) refuses a process with threads; a forked worker has one.
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        raise OSError(f"the worker has {threads} threads before its lock-in, not 1")

    set_limits(config)
    if os.geteuid() == 0:
        leave_root(config)
    if config["namespaces"]:
        enter_namespaces(config)
    else:
        PROTECTIONS.append("namespaces: not used (turned off)")
    if config["landlock"]:
        apply_landlock(config)
    else:
        PROTECTIONS.append("landlock: not used (turned off)")
    # Last: the cap is on what the submission writes, not on its own files copied in.
    size = config["output_bytes"]
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def main():
    if sys.argv[1] == "zygote":
        zygote(int(sys.argv[3]))
    else:
        serve_worker()


def serve_worker():
    """Lock in, then serve the grader's requests until told to stop; never returns."""
    request_fd, response_fd = os.dup(0), os.dup(1)
    config, _ = receive(request_fd)
    config.pop("arrays", None)
    CONFIG.update(config)
    CHANNEL.update(request=request_fd, response=response_fd)
    config["_resp_fd"] = response_fd
    try:
        os.chdir(config["workdir"])
        output = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        # Raw writes to fds 1 and 2 vanish; prints go, capped, to output.txt (CappedStream).
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        lock_in(config)
    except Exception as error:  # the grader's problem, not the submission's: say what
        send(response_fd, {"fatal": f"{type(error).__name__}: {error}"})
        os._exit(1)
    local = [f[:-3] for f in os.listdir(".") if f.endswith(".py")]
    guard = ImportGuard(local)
    sys.meta_path.insert(0, guard)
    sys.addaudithook(guard.audit)
    sys.path[:] = [os.getcwd()] + [p for p in sys.path if p and os.path.isabs(p)]
    sys.stdout = sys.stderr = CappedStream(output, config["output_bytes"] // 2)
    for path in config.get("secrets", []):  # what must stay unreadable: can it be read?
        try:
            with open(path, "rb") as f:
                f.read(1)
            ISOLATION["secrets_readable"].append(path)
        except OSError:
            pass
    send(response_fd, {"hello": True, "protections": PROTECTIONS, "isolation": ISOLATION})
    handles, loaded = {}, {}
    while True:
        try:
            request, arrays = receive(request_fd)
        except EOFError:
            os._exit(0)
        if request.get("op") == "stop":
            os._exit(0)
        payload = {}
        try:
            result = serve(request, arrays, handles, guard, loaded)
            header = {"ok": True, "result": encode(result, payload)
                      if request.get("reply", True) else {"none": True}}
        except BaseException as error:  # noqa: B036 - SystemExit and KeyboardInterrupt too
            payload = {}
            header = {"ok": False, "error": _describe(error)}
        try:
            send(response_fd, header, payload)
        except BaseException:  # noqa: B036
            os._exit(3)


# --- the zygote ----------------------------------------------------------------

def zygote(control_fd):
    """Fork workers on request; run no submission code, hold nothing of the grader's.

    What a worker costs to start (the interpreter, numpy, this file) is paid
    here once: each request forks a child that is a fresh copy of this process,
    which never ran submission code, and the child then locks itself in exactly
    as a worker started on its own does (``serve_worker``). Requests come on the
    SOCK_SEQPACKET socket ``control_fd``, one JSON message each:

    - {"op": "fork", "env": {...}} with two descriptors (the worker's stdin and
      stdout pipe ends) -> {"pid": n} or {"error": text};
    - {"op": "reap", "pid": n} -> {"status": exit code or null while it runs};
    - {"op": "cover", "paths": [...]}, once, before the first fork -> see cover_once.

    Children are reaped only when asked, so that their pids cannot be reused
    while the grader may still signal them. The zygote ends when the grader
    closes the socket (the grader died or is done): its children get SIGKILL.
    """
    import socket

    import numpy.random  # noqa: F401  (what every worker would otherwise import itself)

    # Not die_with_parent: the grader's thread that started it may end before the
    # grader does. The socket's end of file says when the grader is gone.
    control = socket.socket(fileno=control_fd)
    threads = len(os.listdir("/proc/self/task"))
    control.send(json.dumps({"ready": True, "threads": threads}).encode())
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 2)
        except OSError:
            message, fds = b"", []
        if not message:
            os._exit(0)
        request = json.loads(message)
        if request.get("op") == "fork" and len(fds) == 2:
            reply = _fork_worker(control, fds, request.get("env") or {})
        elif request.get("op") == "reap":
            reply = _reap(int(request["pid"]))
        elif request.get("op") == "cover":
            reply = cover_once(request.get("paths"))
        else:
            reply = {"error": "unknown request"}
        for fd in fds:
            os.close(fd)
        control.send(json.dumps(reply).encode())


def _fork_worker(control, fds, env):
    """Fork a worker on the pipes ``fds``; in the zygote, return the reply."""
    zygote_pid = os.getpid()
    try:
        pid = os.fork()
    except OSError as error:
        return {"error": f"fork failed: {error.strerror}"}
    if pid:
        return {"pid": pid}
    try:  # the child: it never returns into the zygote's loop
        die_with_parent()
        if os.getppid() != zygote_pid:  # the zygote died before the line above
            os._exit(1)
        os.setsid()  # its own process group, as start_new_session gives a fresh worker
        stdin, stdout = fds
        os.dup2(stdin, 0)
        os.dup2(stdout, 1)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 2)
        control.detach()
        # Nothing of the zygote's but the standard streams: not its socket to the
        # grader, not another worker's pipes.
        os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        os.environ.clear()
        os.environ.update(env)
        # As fresh as a new interpreter: numpy's global generator, made in the zygote,
        # reseeded from the OS (Python's random reseeds itself after a fork).
        import numpy.random
        numpy.random.seed()
        serve_worker()
    finally:
        os._exit(1)


def _reap(pid):
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return {"error": "no such child"}
    return {"status": os.waitstatus_to_exitcode(status) if done else None}


def _describe(error):
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename.startswith(os.getcwd())]
    where = ""
    if frames:
        where = f" ({os.path.basename(frames[-1].filename)}, line {frames[-1].lineno})"
    text = str(error)
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(error).__name__}: {text}{where}" if text else f"{type(error).__name__}{where}"


if __name__ == "__main__":
    main()
