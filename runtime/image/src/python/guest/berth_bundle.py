"""berth's import hook for Python components on WASI.

At build time (componentize-py pre-initialises the interpreter and snapshots it) this module
reads the component's sources, its site-packages and the standard library into memory,
compressed; at run time, where only /data is visible, `BundleFinder` serves every import from
that snapshot. Imports of C extension modules that berth left out of the image fail with an
ImportError naming the package.
"""

import sys
import zlib
from importlib.machinery import ModuleSpec

# Standard library folders that are never imported by a component.
_STDLIB_SKIP = {"test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "__pycache__",
                "site-packages", "lib-dynload", "pydoc_data"}
_SKIP = {"__pycache__"}


class Bundle:
    """Modules by name: (virtual file path, is a package, compressed source); data files by
    virtual path; C extension modules left out, by name, with their package."""

    def __init__(self):
        self.modules = {}
        self.namespaces = {}
        self.data = {}
        self.excluded = {}

    def add_tree(self, root, virtual_root, skip, with_data):
        """Adds every module under the real directory `root`, as if it lived at `virtual_root`.
        Modules already present (from an earlier, higher-priority source) are kept."""
        import os

        for current, dirs, files in os.walk(root):
            rel = os.path.relpath(current, root)
            parts = [] if rel == "." else rel.split(os.sep)
            dirs[:] = sorted(d for d in dirs if d not in skip)
            if parts and all(p.isidentifier() for p in parts) and "__init__.py" not in files:
                # A folder without __init__.py is a namespace package portion (`keboola`).
                self.namespaces.setdefault(".".join(parts), []).append(
                    "/".join([virtual_root] + parts))
            for name in sorted(files):
                real = os.path.join(current, name)

                def read(real=real):
                    with open(real, "rb") as f:
                        return f.read()

                self._add(parts, name, "/".join([virtual_root] + parts + [name]), read, with_data)

    def _add(self, parts, name, virtual, read, with_data):
        importable = all(p.isidentifier() for p in parts)
        if name.endswith(".py") and importable:
            stem = name[:-3]
            is_pkg = stem == "__init__"
            dotted = ".".join(parts if is_pkg else parts + [stem])
            if dotted and dotted not in self.modules:
                self.modules[dotted] = (virtual, is_pkg, zlib.compress(read(), 6))
        elif with_data and not name.endswith((".pyc", ".so", ".pyd")):
            if virtual not in self.data:
                self.data[virtual] = zlib.compress(read(), 6)

    def exclude(self, module, package):
        self.excluded[module] = package


class _Loader:
    def __init__(self, bundle, name):
        self._bundle = bundle
        self._name = name

    def create_module(self, spec):
        return None

    def get_source(self, name):
        entry = self._bundle.modules.get(name)
        return None if entry is None else zlib.decompress(entry[2]).decode("utf-8")

    def get_code(self, name):
        virtual, _, source = self._bundle.modules[name]
        return compile(zlib.decompress(source), virtual, "exec", dont_inherit=True)

    def exec_module(self, module):
        exec(self.get_code(module.__name__), module.__dict__)

    def is_package(self, name):
        return self._bundle.modules[name][1]

    def get_filename(self, name):
        return self._bundle.modules[name][0]

    def get_data(self, path):
        found = self._bundle.data.get(path)
        if found is None:
            raise FileNotFoundError(path)
        return zlib.decompress(found)

    def get_resource_reader(self, name):
        return _ResourceReader(self._bundle, self._bundle.modules[name][0].rsplit("/", 1)[0])


class _ResourceReader:
    """The legacy resource reader (importlib.resources adapts it): data files of a package."""

    def __init__(self, bundle, directory):
        self._bundle = bundle
        self._dir = directory

    def open_resource(self, resource):
        import io

        return io.BytesIO(_Loader(self._bundle, "").get_data(self._dir + "/" + resource))

    def resource_path(self, resource):
        raise FileNotFoundError(resource)

    def is_resource(self, name):
        return self._dir + "/" + name in self._bundle.data

    def contents(self):
        prefix = self._dir + "/"
        names = {p[len(prefix):].split("/", 1)[0] for p in self._bundle.data if p.startswith(prefix)}
        return iter(sorted(names))


class BundleFinder:
    """A meta path finder over a `Bundle`, consulted before the path-based finder."""

    def __init__(self, bundle):
        self._bundle = bundle

    def find_spec(self, fullname, path=None, target=None):
        package = self._bundle.excluded.get(fullname)
        if package is not None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: it is a C extension module of the package "
                f"{package!r}, which berth left out of this WASI image (only pure-Python code "
                f"runs on WASI)",
                name=fullname,
            )
        entry = self._bundle.modules.get(fullname)
        if entry is None:
            portions = self._bundle.namespaces.get(fullname)
            if portions is None:
                return None
            spec = ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = list(portions)
            return spec
        virtual, is_pkg, _ = entry
        spec = ModuleSpec(fullname, _Loader(self._bundle, fullname), origin=virtual,
                          is_package=is_pkg)
        spec.has_location = True
        if is_pkg:
            spec.submodule_search_locations = [virtual.rsplit("/", 1)[0]]
        return spec

    def invalidate_caches(self):
        pass


def install(bundle):
    """Puts a finder over `bundle` before the path-based finder."""
    from importlib.machinery import PathFinder

    finder = BundleFinder(bundle)
    for index, existing in enumerate(sys.meta_path):
        if existing is PathFinder or isinstance(existing, type) and issubclass(existing, PathFinder):
            sys.meta_path.insert(index, finder)
            return finder
    sys.meta_path.append(finder)
    return finder
