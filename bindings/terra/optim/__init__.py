"""terra.optim: the optimizers and learning-rate schedulers of torch.optim (1.13), in plain Python
over in-place tensor ops run under no_grad."""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam
from .adamw import AdamW
from .rmsprop import RMSprop
from .adagrad import Adagrad
from .adadelta import Adadelta
from .adam_variants import Adamax, NAdam, RAdam
from .lbfgs import LBFGS
from .more import ASGD, Rprop
from .sparse_adam import SparseAdam
from . import lr_scheduler, swa_utils

__all__ = ['Optimizer', 'SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad', 'Adadelta', 'Adamax', 'NAdam', 'RAdam', 'LBFGS',
           'Rprop', 'ASGD', 'SparseAdam', 'lr_scheduler', 'swa_utils']
