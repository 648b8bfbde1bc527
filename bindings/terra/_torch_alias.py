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


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    """Resolves `torch[.X.Y]` to `terra[.X.Y]`."""

    def find_spec(self, fullname, path=None, target=None):
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


def install():
    """Makes `torch` imports resolve to terra from now on. Calling it again does nothing."""
    if not any(isinstance(f, TorchAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, TorchAliasFinder())
