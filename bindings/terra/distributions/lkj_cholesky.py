"""LKJCholesky(dim, concentration=1), as torch.distributions.LKJCholesky (1.13): the lower
Cholesky factors of dim x dim correlation matrices with density proportional to
det(C)^(concentration - 1) (Lewandowski, Kurowicka and Joe, 2009). Samples by the onion method
(vectorized over rows, PyTorch's form, with the Beta parameters of the rows below the
second corrected); not reparameterized."""
import math

import terra

from . import constraints
from .beta import Beta
from .distribution import Distribution, _size
from .utils import broadcast_all, finfo

__all__ = ['LKJCholesky']


class LKJCholesky(Distribution):
    arg_constraints = {'concentration': constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1., validate_args=None):
        if dim < 2:
            raise ValueError(f'Expected dim to be an integer greater than or equal to 2. Found dim={dim}.')
        self.dim = dim
        self.concentration, = broadcast_all(concentration)
        # Row i's off-diagonal part has squared norm Beta(i / 2, concentration + (dim - 1 - i) / 2)
        # (Sec. 3.2; row 0 has none, its draw is unused). PyTorch 1.13 uses i - 1/2 for the first
        # parameter, which is right only for i = 1: its correlations of rows 2 and below are too
        # spread out (log_prob is unaffected).
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = terra.arange(self.dim - 1, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = terra.cat([offset.new_zeros((1,)), offset])
        self._beta = Beta(0.5 * offset + 0.5, marginal_conc.unsqueeze(-1) - 0.5 * offset)
        super().__init__(self.concentration.size(), (dim, dim), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = _size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()):
        with terra.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = terra.randn(self._extended_shape(sample_shape), dtype=y.dtype, device=y.device).tril(-1)
            # each row's off-diagonal part a uniform direction (the first row has none: zeros)
            rest = u_normal[..., 1:, :]
            u_hypersphere = terra.cat([terra.zeros_like(u_normal[..., :1, :]),
                                       rest / rest.norm(dim=-1, keepdim=True)], -2)
            w = terra.sqrt(y) * u_hypersphere
            # the diagonal completes each row to unit norm; clamped for numerical stability
            diag_elems = terra.clamp(1 - terra.sum(w ** 2, dim=-1), min=float(finfo(w.dtype).tiny)).sqrt()
            return w + terra.diag_embed(diag_elems)

    def log_prob(self, value):
        """prod_i L_ii^(2 (concentration - 1) + D - i) (the density of C times the Jacobian of
        L -> L L^T) over the normalizer of page 1999 of the paper."""
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = terra.arange(2, self.dim + 1, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = terra.sum(order * diag_elems.log(), dim=-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = terra.lgamma(alpha) * dm1
        numerator = terra.mvlgamma(alpha - 0.5, dm1)
        # the paper's pi term is D (D - 1) / 4 log(pi), mvlgamma's (D - 1) (D - 2) / 4 log(pi)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized_log_pdf - (pi_constant + numerator - denominator)
