"""terra.distributions: the distributions, transforms and KL divergences of
torch.distributions (1.13) that RL, VAE and probabilistic scripts use, with log_prob, entropy,
moments, cdf/icdf and sampling (reparameterized where PyTorch's is) from terra's RNG."""
from . import constraints, transforms
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .chi2 import Chi2
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .mixture_same_family import MixtureSameFamily
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .poisson import Poisson
from .relaxed_bernoulli import LogitRelaxedBernoulli, RelaxedBernoulli
from .relaxed_categorical import ExpRelaxedCategorical, RelaxedOneHotCategorical
from .transformed_distribution import TransformedDistribution
from .transforms import (AffineTransform, ComposeTransform, ExpTransform, PowerTransform, SigmoidTransform,
                         SoftplusTransform, TanhTransform, Transform, identity_transform)
from .uniform import Uniform

__all__ = ['AffineTransform', 'Bernoulli', 'Beta', 'Binomial', 'Categorical', 'Chi2', 'ComposeTransform',
           'Dirichlet', 'Distribution', 'ExpRelaxedCategorical', 'ExpTransform', 'Exponential', 'Gamma',
           'Geometric', 'Independent', 'Laplace', 'LogNormal', 'LogitRelaxedBernoulli', 'MixtureSameFamily',
           'MultivariateNormal', 'Normal', 'OneHotCategorical', 'OneHotCategoricalStraightThrough', 'Poisson',
           'PowerTransform', 'RelaxedBernoulli', 'RelaxedOneHotCategorical', 'SigmoidTransform',
           'SoftplusTransform', 'TanhTransform', 'Transform', 'TransformedDistribution', 'Uniform', 'constraints',
           'identity_transform', 'kl_divergence', 'register_kl', 'transforms']
