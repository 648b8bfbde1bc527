"""The in-place forms (x.name_(...)) PyTorch 1.13 has whose functional form Terra composes in
Python: each computes the functional result and writes it into self with copy_, after the checks
PyTorch's in-place kernels make (a leaf that requires grad, a result dtype that cannot be cast
into self's, a broadcast shape other than self's). Autograd sees the functional ops and the copy;
the version counter moves once. Names torch.* also has (torch.arccos_, ...) are exported too.
"""
from . import _C
from ._functions import mvlgamma
from ._shape_functions import exporters

Tensor = _C.Tensor

__all__ = []
_export, _ = exporters(__all__)

# bool < integer < floating: PyTorch casts a result into self only within or up this order.
_KIND = {_C.bool: 0, _C.int32: 1, _C.int64: 1, _C.float32: 2, _C.float64: 2}


def _write_back(self, name, result):
    if self.requires_grad and self.is_leaf and _C.is_grad_enabled():
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place operation.")
    if _KIND[result.dtype] > _KIND[self.dtype]:
        raise RuntimeError(f"{name}: result type {result.dtype} can't be cast to the desired output type {self.dtype}")
    if tuple(result.shape) != tuple(self.shape):
        raise RuntimeError(f"{name}: output with shape {list(self.shape)} doesn't match the broadcast shape "
                           f"{list(result.shape)}")
    return self.copy_(result)


def _inplace(name, functional):
    def method(self, *args, **kwargs):
        # The functional ops may save their input for backward: give them a copy when autograd
        # records, so that writing into self does not invalidate what they saved.
        source = self.clone() if self.requires_grad and _C.is_grad_enabled() else self
        return _write_back(self, name, functional(source, *args, **kwargs))
    method.__name__ = method.__qualname__ = name
    return method


def _float_power_(self, exponent):
    # PyTorch computes in float64 and casts back only into a float64 self.
    if self.dtype is not _C.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype} but the operation's result "
                           "requires dtype float64")
    return _write_back(self, "float_power_", self.clone().float_power(exponent))


def _square_(self):
    source = self.clone()
    return _write_back(self, "square_", source * source if self.dtype is not _C.bool else source.to(_C.int64) * source)


# name_ -> the Tensor method it writes back.
_FUNCTIONAL = {
    "absolute_": "abs", "arccos_": "acos", "arcsin_": "asin", "arctan_": "atan", "arcsinh_": "asinh",
    "arctanh_": "atanh", "arctan2_": "atan2", "acosh_": "acosh", "arccosh_": "acosh", "cumprod_": "cumprod",
    "cumsum_": "cumsum", "deg2rad_": "deg2rad", "rad2deg_": "rad2deg", "divide_": "div", "true_divide_": "div",
    "exp2_": "exp2", "fix_": "trunc", "trunc_": "trunc", "fmod_": "fmod", "frac_": "frac", "greater_": "gt",
    "greater_equal_": "ge", "less_": "lt", "less_equal_": "le", "not_equal_": "ne", "hypot_": "hypot",
    "ldexp_": "ldexp", "multiply_": "mul", "subtract_": "sub", "negative_": "neg", "nan_to_num_": "nan_to_num",
    "sgn_": "sgn", "sinc_": "sinc", "xlogy_": "xlogy", "copysign_": "copysign", "heaviside_": "heaviside",
    "logit_": "logit", "i0_": "i0", "igamma_": "igamma", "igammac_": "igammac",
    "nextafter_": "nextafter", "renorm_": "renorm", "addbmm_": "addbmm", "addmv_": "addmv", "addr_": "addr",
}
# The ones PyTorch 1.13 also has as torch.name_(input, ...).
_TORCH_LEVEL = {"acosh_", "arccosh_", "arccos_", "arcsin_", "arctan_", "arcsinh_", "arctanh_", "deg2rad_",
                "rad2deg_", "exp2_", "fix_", "frac_", "ldexp_", "negative_", "nan_to_num_", "sinc_", "square_",
                "trunc_", "xlogy_", "logit_", "i0_"}


def _install():
    methods = {name: _inplace(name, getattr(Tensor, target)) for name, target in _FUNCTIONAL.items()
               if hasattr(Tensor, target)}
    methods.update(float_power_=_float_power_, square_=_square_, mvlgamma_=_inplace("mvlgamma_", mvlgamma))
    if not hasattr(Tensor, "mvlgamma"):
        Tensor.mvlgamma = mvlgamma
    for name, method in methods.items():
        if not hasattr(Tensor, name):
            setattr(Tensor, name, method)
    for name in sorted(_TORCH_LEVEL):
        if hasattr(Tensor, name):
            globals()[name] = _export(_torch_level(name))


def _torch_level(name):
    method = getattr(Tensor, name)

    def fn(input, *args, **kwargs):
        return method(input, *args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    return fn


_install()
