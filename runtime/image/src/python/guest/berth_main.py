"""berth's wrapper: runs an unmodified Python component as the `wasi:cli/run` of a component.

Imported once, at build time, inside the interpreter componentize-py snapshots: it bundles the
sources (see `berth_bundle`), installs the import hook and imports the component's dependencies,
so that a run starts with them loaded. `Run.run` is called once per run: it executes the entry
script as `__main__` (as `python ENTRY` would), turns `SystemExit` into the exit code, prints an
uncaught exception's traceback on stderr and exits 2 (an application error in the common
interface), and reports the code through `wasi:cli/exit`.
"""

import ast
import atexit
import builtins
import importlib
import linecache
import os
import sys
import types
import zlib

import berth_build
import berth_bundle
from wit_world.imports import exit as wasi_exit

_HERE = os.path.dirname(os.path.abspath(__file__))



def _stdlib_dir():
    """The standard library's folder in the build-time interpreter (`os` itself is frozen)."""
    for path in sys.path:
        if os.path.isfile(os.path.join(path, "os.py")) and os.path.isdir(os.path.join(path, "json")):
            return path
    raise RuntimeError(f"berth: no standard library folder on {sys.path}")


_STDLIB = _stdlib_dir()
_ENTRY_VIRTUAL = berth_build.CODE_ROOT + "/" + berth_build.ENTRY
_ENTRY_DIR_VIRTUAL = _ENTRY_VIRTUAL.rsplit("/", 1)[0]
_SITE_VIRTUAL = berth_build.CODE_ROOT + "/.berth/site-packages"


def _bundle():
    bundle = berth_bundle.Bundle()
    bundle.add_tree(os.path.join(_HERE, "_berth_shims"), "/berth/shims", set(), False)
    entry_dir = os.path.dirname(os.path.join(_HERE, "_berth_code", berth_build.ENTRY))
    bundle.add_tree(entry_dir, _ENTRY_DIR_VIRTUAL, berth_bundle._SKIP, True)
    bundle.add_tree(_STDLIB, _STDLIB, berth_bundle._STDLIB_SKIP, False)
    bundle.add_tree(os.path.join(_HERE, "_berth_site"), _SITE_VIRTUAL, berth_bundle._SKIP, True)
    for module, package in berth_build.EXCLUDED.items():
        bundle.exclude(module, package)
    return bundle


def _imported_by(source):
    """The modules `source` imports (absolute imports, anywhere in the file)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _preload(bundle, source):
    """Imports what the entry imports from the standard library and the site-packages (not the
    component's own modules, whose top-level code belongs to the run), so the snapshot holds
    them loaded."""
    for name in _imported_by(source):
        top = bundle.modules.get(name) or bundle.modules.get(name.split(".")[0])
        if top is not None and top[0].startswith(_ENTRY_DIR_VIRTUAL + "/"):
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - what fails to import now fails at run time, visibly
            pass


_BUNDLE = _bundle()
berth_bundle.install(_BUNDLE)
with open(os.path.join(_HERE, "_berth_code", berth_build.ENTRY), "rb") as _f:
    _ENTRY_BYTES = _f.read()
_ENTRY_SOURCE = zlib.compress(_ENTRY_BYTES, 6)
try:
    _preload(_BUNDLE, _ENTRY_BYTES)
except SyntaxError:
    pass  # reported when the entry runs
del _ENTRY_BYTES

if not hasattr(builtins, "exit"):
    import _sitebuiltins

    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")


def _exit_code(code):
    """The process exit status of `SystemExit(code)`, as CPython computes it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:  # noqa: BLE001
        pass
    return 1


def _run_entry():
    source = zlib.decompress(_ENTRY_SOURCE).decode("utf-8")
    lines = source.splitlines(keepends=True)
    linecache.cache[_ENTRY_VIRTUAL] = (len(source), None, lines, _ENTRY_VIRTUAL)
    main = types.ModuleType("__main__")
    main.__file__ = _ENTRY_VIRTUAL
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    code = compile(source, _ENTRY_VIRTUAL, "exec", dont_inherit=True)
    exec(code, main.__dict__)


class Run:
    def run(self) -> None:
        sys.argv[:] = [_ENTRY_VIRTUAL] + sys.argv[1:]
        sys.path[:] = [_ENTRY_DIR_VIRTUAL, _STDLIB, _SITE_VIRTUAL]
        sys.path_importer_cache.clear()
        try:
            _run_entry()
            code = 0
        except SystemExit as stop:
            code = _exit_code(stop.code)
        except BaseException:  # noqa: BLE001 - an uncaught exception ends the program
            sys.excepthook(*sys.exc_info())
            code = 2
        try:
            atexit._run_exitfuncs()
        except BaseException:  # noqa: BLE001
            pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        if code != 0:
            wasi_exit.exit_with_code(code)
