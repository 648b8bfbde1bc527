"""Spawned children of a `terra run --as-torch` program: their `import torch` must be Terra too.

A child started by the spawn method is a plain `python3` that imports the parent's main module
(as __mp_main__) before it unpickles the process object, so the torch alias has to be installed
earlier: from the preparation data, the first thing the child unpickles. An entry added to it
runs the installation when unpickled (prepare() ignores keys it does not know)."""
import os
import sys
from multiprocessing import spawn  # (not spawn.X via the package: this may run while spawn loads)

from .. import _torch_alias

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _InstallTorchAlias:
    def __reduce__(self):
        # exec (a builtin, so picklable without terra on the child's path yet): the child's
        # sys.path is set only after this is unpickled, and it must find the same terra package.
        source = (f"import sys\nif {_PACKAGE_PARENT!r} not in sys.path: sys.path.append({_PACKAGE_PARENT!r})\n"
                  "import terra._torch_alias\nterra._torch_alias.install()\n")
        return exec, (source, {})


def _preparation_data_with_alias(name, _original=spawn.get_preparation_data):
    data = _original(name)
    data["terra_torch_alias"] = _InstallTorchAlias()
    return data


def install_if_aliased():
    """Adds the entry to every spawned child's preparation data when `torch` is aliased to terra here."""
    aliased = any(isinstance(finder, _torch_alias.TorchAliasFinder) for finder in sys.meta_path)
    if aliased and spawn.get_preparation_data is not _preparation_data_with_alias:
        spawn.get_preparation_data = _preparation_data_with_alias
