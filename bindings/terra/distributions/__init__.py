"""terra.distributions: the distributions, transforms and KL divergences of
torch.distributions (1.13) that RL, VAE and probabilistic scripts use, with log_prob, entropy,
moments, cdf/icdf and sampling (reparameterized where PyTorch's is) from terra's RNG."""
from . import constraints, transforms
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .cauchy import Cauchy
from .categorical import Categorical
from .chi2 import Chi2
from .constraint_registry import biject_to, transform_to
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .fishersnedecor import FisherSnedecor
from .gamma import Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .half_cauchy import HalfCauchy
from .half_normal import HalfNormal
from .independent import Independent
from .kl import kl_divergence, register_kl
from . import kl_more  # registers the KL pairs of the families below, when imported
from .kumaraswamy import Kumaraswamy
from .lkj_cholesky import LKJCholesky
from .laplace import Laplace
from .log_normal import LogNormal
from .logistic_normal import LogisticNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .negative_binomial import NegativeBinomial
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .pareto import Pareto
from .poisson import Poisson
from .relaxed_bernoulli import LogitRelaxedBernoulli, RelaxedBernoulli
from .relaxed_categorical import ExpRelaxedCategorical, RelaxedOneHotCategorical
from .studentT import StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import (AffineTransform, ComposeTransform, ExpTransform, PowerTransform, SigmoidTransform,
                         SoftplusTransform, TanhTransform, Transform, identity_transform)
from .transforms import (AbsTransform, CatTransform, CorrCholeskyTransform, CumulativeDistributionTransform,
                         IndependentTransform, LowerCholeskyTransform, ReshapeTransform, SoftmaxTransform,
                         StackTransform, StickBreakingTransform)
from .uniform import Uniform
from .von_mises import VonMises
from .weibull import Weibull
from .wishart import Wishart

__all__ = ['AffineTransform', 'Bernoulli', 'Beta', 'Binomial', 'Categorical', 'Chi2', 'ComposeTransform',
           'Dirichlet', 'Distribution', 'ExpRelaxedCategorical', 'ExpTransform', 'Exponential', 'Gamma',
           'Geometric', 'Independent', 'Laplace', 'LogNormal', 'LogitRelaxedBernoulli', 'MixtureSameFamily',
           'MultivariateNormal', 'Normal', 'OneHotCategorical', 'OneHotCategoricalStraightThrough', 'Poisson',
           'PowerTransform', 'RelaxedBernoulli', 'RelaxedOneHotCategorical', 'SigmoidTransform',
           'SoftplusTransform', 'TanhTransform', 'Transform', 'TransformedDistribution', 'Uniform', 'constraints',
           'identity_transform', 'kl_divergence', 'register_kl', 'transforms']

del kl_more  # (not part of the API)
__all__ += ['AbsTransform', 'CatTransform', 'Cauchy', 'ContinuousBernoulli', 'CorrCholeskyTransform',
            'CumulativeDistributionTransform', 'ExponentialFamily', 'FisherSnedecor', 'Gumbel', 'HalfCauchy',
            'HalfNormal', 'IndependentTransform', 'Kumaraswamy', 'LKJCholesky', 'LogisticNormal',
            'LowRankMultivariateNormal', 'LowerCholeskyTransform', 'Multinomial', 'NegativeBinomial', 'Pareto',
            'ReshapeTransform', 'SoftmaxTransform', 'StackTransform', 'StickBreakingTransform', 'StudentT',
            'VonMises', 'Weibull', 'Wishart', 'biject_to', 'transform_to']
