"""Mirrors the Python files of the terra package from the source tree into the build tree."""
import filecmp
import os
import shutil
import sys

src, dst, stamp = sys.argv[1:4]
for root, dirs, files in os.walk(src):
    dirs[:] = [d for d in dirs if d != "__pycache__"]
    rel = os.path.relpath(root, src)
    for name in files:
        if not name.endswith(".py"):
            continue
        target_dir = os.path.join(dst, rel)
        target = os.path.join(target_dir, name)
        source = os.path.join(root, name)
        if os.path.exists(target) and filecmp.cmp(source, target, shallow=False):
            continue
        os.makedirs(target_dir, exist_ok=True)
        shutil.copy2(source, target)
open(stamp, "w").close()
