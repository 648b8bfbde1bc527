"""terra.backends: the flags scripts set on torch.backends (accepted, no effect on the CPU)."""
import types

cudnn = types.SimpleNamespace(benchmark=False, deterministic=False, enabled=True, allow_tf32=True,
                              is_available=lambda: False)
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cuda = types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False), is_built=lambda: False)
mkldnn = types.SimpleNamespace(enabled=False, is_available=lambda: False)
