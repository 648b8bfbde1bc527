"""terra.distributions: Normal, Bernoulli and Categorical of torch.distributions (1.13), with
log_prob, entropy, mean/variance and sampling from terra's RNG."""
from . import constraints
from .distribution import Distribution
from .normal import Normal
from .bernoulli import Bernoulli
from .categorical import Categorical

__all__ = ['Distribution', 'Normal', 'Bernoulli', 'Categorical', 'constraints']
