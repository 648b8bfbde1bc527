"""terra.backends: the TF32 switches reach the C++ kernels, with PyTorch's defaults."""
import terra
from terra import _C


def test_tf32_defaults_match_pytorch():
    assert terra.backends.cuda.matmul.allow_tf32 is False
    assert terra.backends.cudnn.allow_tf32 is True


def test_tf32_switches_reach_cpp():
    matmul, cudnn = terra.backends.cuda.matmul, terra.backends.cudnn
    try:
        matmul.allow_tf32 = True
        cudnn.allow_tf32 = False
        assert _C._get_allow_tf32_matmul() is True and matmul.allow_tf32 is True
        assert _C._get_allow_tf32_cudnn() is False and cudnn.allow_tf32 is False
    finally:
        matmul.allow_tf32 = False
        cudnn.allow_tf32 = True
    assert _C._get_allow_tf32_matmul() is False and _C._get_allow_tf32_cudnn() is True


def test_cudnn_is_available_needs_a_device():
    assert terra.backends.cudnn.is_available() == (_C._built_with_cudnn and terra.cuda.is_available())
