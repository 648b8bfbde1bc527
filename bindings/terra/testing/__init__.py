"""terra.testing (torch.testing of PyTorch 1.13): assert_close, the deprecated assert_allclose,
and make_tensor."""
from ._comparison import assert_close, assert_allclose
from ._creation import make_tensor

__all__ = ["assert_close", "assert_allclose", "make_tensor"]
