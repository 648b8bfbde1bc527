"""How multiprocessing (queues, pipes, Pool arguments) pickles Terra tensors: as pickle does,
copying the data, except that a non-leaf tensor requiring grad is refused, as PyTorch refuses it
(its history cannot cross a process boundary)."""
from multiprocessing.reduction import ForkingPickler

from .. import _C


def _reduce_tensor(tensor):
    if tensor.requires_grad and not tensor.is_leaf:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd "
                           "does not support crossing process boundaries.  If you just want to transfer the data, "
                           "call detach() on the tensor before serializing (e.g., putting it on the queue).")
    return tensor.__reduce_ex__(2)


def init_reductions():
    ForkingPickler.register(_C.Tensor, _reduce_tensor)
