"""`import torch` as Terra, for `terra run --as-torch`.

install() puts a finder at the front of sys.meta_path that answers every import of `torch` or
`torch.X.Y` with the already-imported module `terra` or `terra.X.Y` (the very same object, so
`torch.nn is terra.nn`). A torch module Terra lacks fails with ModuleNotFoundError naming the
torch module. Nothing here is specific to a submodule: the terra package's layout is the list.
"""

import importlib
import importlib.abc
import importlib.util
import sys

ALIAS = "torch"
TARGET = "terra"


class _ExistingModuleLoader(importlib.abc.Loader):
    """Hands the import system a module that is already imported and executed.

    The import system sets `__spec__` on whatever create_module returns; exec_module puts the
    terra module's own spec back, so terra's relative imports and reloads still see `terra.*`.
    """

    def __init__(self, name, module):
        self._name = name
        self._module = module
        self._spec = getattr(module, "__spec__", None)

    def create_module(self, spec):
        return self._module

    def exec_module(self, module):
        if self._spec is not None:
            module.__spec__ = self._spec
        # Not earlier, in find_spec: a name already in sys.modules when find_spec returns makes
        # the import system load that module's own spec instead (importlib._bootstrap._find_spec),
        # which would execute terra's module a second time under its own name.
        sys.modules[self._name] = module


# Children started by multiprocessing's spawn method are fresh interpreters: they need the alias
# too. terra.multiprocessing arranges it (its _as_torch_children), once multiprocessing.spawn is
# loaded, which the finder watches for, so that a script using the standard library's
# multiprocessing is covered as well as one using torch.multiprocessing.
_SPAWN = "multiprocessing.spawn"


def _alias_spawned_children():
    try:
        children = importlib.import_module(TARGET + ".multiprocessing._as_torch_children")
    except ModuleNotFoundError:  # a package without it (the CLI tests' stand-in)
        return
    # Absent while that module is itself importing multiprocessing.spawn: terra.multiprocessing
    # installs it once the module is loaded.
    install = getattr(children, "install_if_aliased", None)
    if install:
        install()


def _spawn_spec(finder, fullname, path, target):
    """multiprocessing.spawn's own spec, whose loading ends by arranging the spawned children."""
    for other in sys.meta_path:
        if other is finder or not hasattr(other, "find_spec"):
            continue
        spec = other.find_spec(fullname, path, target)
        if spec is not None:
            break
    else:
        return None
    run_module = spec.loader.exec_module

    def exec_module(module):
        run_module(module)
        _alias_spawned_children()

    spec.loader.exec_module = exec_module
    return spec


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    """Resolves `torch[.X.Y]` to `terra[.X.Y]`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == _SPAWN:
            return _spawn_spec(self, fullname, path, target)
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        target_name = TARGET + fullname[len(ALIAS):]
        try:
            module = importlib.import_module(target_name)
        except ModuleNotFoundError as e:
            # Only a missing terra counterpart is reworded; a module that terra itself fails to
            # find (a missing dependency) is reported as it is.
            missing = e.name or ""
            if missing != target_name and not target_name.startswith(missing + "."):
                raise
            torch_name = ALIAS + missing[len(TARGET):]
            raise ModuleNotFoundError(
                f"No module named '{torch_name}': Terra does not provide it "
                f"(--as-torch maps {torch_name} to {missing}, which does not exist)",
                name=torch_name) from None
        return importlib.util.spec_from_loader(fullname, _ExistingModuleLoader(fullname, module))


# The PyTorch release whose Python API Terra follows.
TORCH_API = "1.13.0"


def _release(text):
    """The numeric release of a version string: '1.13.0+terra.0.1.0' -> (1, 13, 0)."""
    parts = []
    for piece in str(text).split("+")[0].split("."):
        digits = "".join(c for c in piece if c.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _padded(a, b):
    n = max(len(a), len(b))
    return a + (0,) * (n - len(a)), b + (0,) * (n - len(b))


class TorchVersion(str):
    """torch.__version__ under --as-torch: a str that compares with version strings, tuples and
    packaging's Version by release, as PyTorch's TorchVersion does."""

    def _other(self, other):
        if isinstance(other, (tuple, list)):
            return tuple(int(x) for x in other)
        if isinstance(other, str):
            return _release(other)
        release = getattr(other, "release", None)  # packaging.version.Version
        if release is not None:
            return tuple(release)
        return NotImplemented

    def _compare(self, other, test):
        theirs = self._other(other)
        if theirs is NotImplemented:
            return NotImplemented
        return test(*_padded(_release(self), theirs))

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other):  # a string compares as a string; a tuple or Version by release
        if isinstance(other, str):
            return str.__eq__(self, other)
        result = self._compare(other, lambda a, b: a == b)
        return False if result is NotImplemented else result

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__


def install():
    """Makes `torch` imports resolve to terra from now on, and torch.__version__ the PyTorch
    release whose API Terra follows ("1.13.0+terra.0.1.0"): scripts and libraries pick code paths
    by comparing it; reprs name the package torch (torch.Size, torch.float32, x.type()
    'torch.FloatTensor'). Calling it again does nothing."""
    if any(isinstance(f, TorchAliasFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, TorchAliasFinder())
    if _SPAWN in sys.modules:
        _alias_spawned_children()
    target = importlib.import_module(TARGET)
    own = getattr(target, "__version__", None)
    if own is not None:
        target.__version__ = TorchVersion(f"{TORCH_API}+terra.{own}")
    public_name = getattr(target, "_public_name", None)
    if public_name is not None:  # reprs say torch.Size, torch.float32 (absent from test stand-ins)
        public_name.use(ALIAS)
