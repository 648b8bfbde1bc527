"""repr/str of tensors, return types and layouts, character for character against PyTorch 1.13.

Each case builds the same tensor in terra and in torch (from numpy data with fixed seeds) and
compares the text. The public name is switched to "torch" for the comparison, as `terra run
--as-torch` does, so that dtype and return-type names read the same; print options are reset
after every test in both libraries.
"""
import math

import numpy as np
import pytest

import terra
from terra import _public_name

torch = pytest.importorskip("torch")

DTYPES = ["bool", "int32", "int64", "float32", "float64"]


@pytest.fixture(autouse=True)
def torch_names_and_default_options():
    _public_name.use("torch")
    try:
        yield
    finally:
        _public_name.use("terra")
        for lib in (terra, torch):
            lib.set_printoptions(profile="default")
            lib.set_default_dtype(lib.float32)


def _tensor(lib, data, dtype, requires_grad=False):
    return lib.tensor(np.asarray(data).tolist(), dtype=getattr(lib, dtype), requires_grad=requires_grad)


def _assert_same_text(make):
    expected, actual = make(torch), make(terra)
    assert repr(actual) == repr(expected)
    assert str(actual) == str(expected)


def _random_case(seed):
    """A tensor of a random dtype and shape; the values vary in sign, magnitude (so both fixed
    and scientific notation), integrality, and some hold nan/inf/zeros among nonzero values."""
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % len(DTYPES)]
    ndim = int(rng.integers(0, 4))
    shape = tuple(int(n) for n in rng.integers(1, 40 if ndim == 1 else 7, ndim))
    if seed % 11 == 0:
        shape = (int(rng.integers(1001, 2500)),)  # summarized
    elif seed % 13 == 0:
        shape = (int(rng.integers(30, 60)), int(rng.integers(30, 60)))  # summarized rows and columns
    data = rng.standard_normal(shape) * 10.0 ** int(rng.integers(-7, 11))
    kind = seed % 5
    if kind == 1:
        data = np.round(data)
    elif kind == 2:
        data = data * 10.0 ** rng.integers(-4, 5, shape)
    elif kind == 3:
        pick = rng.random(shape)
        data = np.where(pick < 0.1, np.nan, np.where(pick < 0.2, np.inf, np.where(pick < 0.3, -np.inf,
                                                                                   np.where(pick < 0.4, 0.0, data))))
    if dtype == "bool":
        data = data > 0
    elif dtype.startswith("int"):
        data = np.nan_to_num(np.round(data), posinf=7, neginf=-7).clip(-2**31 + 1, 2**31 - 1).astype(np.int64)
    if not np.any(data):
        data = np.ones(shape, dtype=data.dtype)
    return data, dtype


@pytest.mark.parametrize("seed", range(150))
def test_random_tensor(seed):
    data, dtype = _random_case(seed)
    _assert_same_text(lambda lib: _tensor(lib, data, dtype))


EDGE_CASES = [
    ([True], "bool"), ([False], "bool"), ([True, False], "bool"), ([True, True, True], "bool"),
    ([1., 2000.], "float32"), ([1e8, 1.], "float32"), ([1., 1e9], "float64"), ([1., 1000.], "float32"),
    ([1., 1001.], "float32"), ([0.5, 501.], "float32"), ([0.5, 500.], "float64"), ([1e-4, 1.], "float32"),
    ([0.9e-4, 1.], "float64"), ([1.1e8], "float64"), ([123456789.], "float32"), ([12345678.5, 1.], "float64"),
    ([math.nan, math.inf, -math.inf, 1.], "float32"), ([math.nan, 2.5], "float64"), ([-math.inf, 1e-7], "float32"),
    ([-0., 0.], "float32"), ([7.5, -0., 3.], "float32"), ([math.inf, 0.], "float64"), ([math.nan], "float32"),
    ([-1., 2., -3.], "float32"), ([1e20, -1e-20], "float64"), ([2.5e-5, 0.], "float32"), ([-5, 120, 7], "int32"),
    ([-(2**40), 3], "int64"),
    (2.5, "float32"), (-0., "float32"), (math.nan, "float64"), (1e10, "float32"), (-7, "int64"), (True, "bool"),
    (np.arange(1200.), "float32"), (np.arange(1200), "int64"), (np.arange(1001.) * 0.002 - 0.5, "float64"),
    (np.linspace(0.002, 1.497, 2000), "float32"), (np.arange(2000.).reshape(100, 20), "float32"),
    (np.arange(2000).reshape(100, 20), "int32"), (np.arange(3000.).reshape(10, 10, 30), "float64"),
    (np.arange(1500) % 3 == 0, "bool"), (np.ones(1500, dtype=bool), "bool"),
    (np.arange(24).reshape(2, 3, 2, 2), "int64"),
]


@pytest.mark.parametrize("data,dtype", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_case(data, dtype):
    _assert_same_text(lambda lib: _tensor(lib, data, dtype))


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_empty(shape, dtype):
    _assert_same_text(lambda lib: lib.zeros(shape, dtype=getattr(lib, dtype)))


def _grad_cases():
    rng = np.random.default_rng(7)
    small, row7, row12 = rng.standard_normal((3, 3)), rng.standard_normal(7), rng.standard_normal(12)
    wide, big_ints = rng.standard_normal((3, 8)), rng.integers(0, 10**9, 11)
    return {
        "requires_grad": lambda lib: _tensor(lib, small, "float32", True),
        "mul": lambda lib: _tensor(lib, small, "float32", True) * 2,
        "add": lambda lib: _tensor(lib, small, "float32", True) + 1,
        "sum": lambda lib: _tensor(lib, small, "float32", True).sum(),
        "scalar": lambda lib: lib.tensor(2., requires_grad=True),
        "empty": lambda lib: lib.zeros(0, 3, requires_grad=True),
        # Long lines: dtype=, requires_grad=True and grad_fn= each move to a line of their own.
        "float64 wraps": lambda lib: _tensor(lib, row7, "float64"),
        "float64 requires_grad wraps": lambda lib: _tensor(lib, row12, "float64", True),
        "float64 grad_fn wraps": lambda lib: _tensor(lib, row7, "float64", True) * 3,
        "float64 2-D wraps": lambda lib: _tensor(lib, wide, "float64"),
        "int32 wraps": lambda lib: _tensor(lib, big_ints, "int32"),
        "parameter": lambda lib: lib.nn.Parameter(_tensor(lib, small, "float32")),
        "parameter float64": lambda lib: lib.nn.Parameter(_tensor(lib, row7, "float64")),
        "parameter frozen": lambda lib: lib.nn.Parameter(_tensor(lib, row7, "float32"), requires_grad=False),
    }


GRAD_CASES = _grad_cases()


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_suffixes(name):
    _assert_same_text(GRAD_CASES[name])


def test_default_dtype_float64():
    for lib in (terra, torch):
        lib.set_default_dtype(lib.float64)
    _assert_same_text(lambda lib: lib.tensor([1.5, 2.]))
    _assert_same_text(lambda lib: lib.tensor([1.5, 2.], dtype=lib.float32))
    _assert_same_text(lambda lib: lib.zeros(0, dtype=lib.float32))
    _assert_same_text(lambda lib: lib.zeros(0))


PRINT_OPTIONS = [
    dict(precision=2), dict(precision=0), dict(precision=7), dict(sci_mode=True), dict(sci_mode=False),
    dict(threshold=5), dict(edgeitems=1, threshold=10), dict(linewidth=40), dict(linewidth=200),
    dict(profile="short"), dict(profile="full"), dict(profile="short", precision=5), dict(profile="default"),
    dict(precision=3, sci_mode=True, linewidth=50, edgeitems=2, threshold=20),
]


def _print_option_tensors():
    rng = np.random.default_rng(3)
    return [
        ([1.23456, 2.5], "float32"), ([1., 2000.], "float32"), (np.arange(10), "int64"), ([0.5, 0.], "float32"),
        ([1e-6, 3.], "float64"), ([True, False, True], "bool"), (rng.standard_normal((12, 12)), "float32"),
        (np.arange(1200.) * 0.37, "float32"), (rng.standard_normal(20), "float64"),
        (rng.integers(-1000, 1000, (4, 30)), "int32"), (np.round(rng.standard_normal((3, 5, 9)) * 100), "float32"),
    ]


@pytest.mark.parametrize("options", PRINT_OPTIONS, ids=[str(o) for o in PRINT_OPTIONS])
def test_print_options(options):
    for lib in (terra, torch):
        lib.set_printoptions(**options)
    for data, dtype in _print_option_tensors():
        _assert_same_text(lambda lib: _tensor(lib, data, dtype))
    fields = ["precision", "threshold", "edgeitems", "linewidth", "sci_mode"]
    assert ([getattr(terra._tensor_str.PRINT_OPTS, f) for f in fields]
            == [getattr(torch._tensor_str.PRINT_OPTS, f) for f in fields])


def test_set_printoptions_precision_and_reset():
    terra.set_printoptions(precision=2)
    assert repr(terra.tensor([1.23456, 2.5])) == "tensor([1.23, 2.50])"
    terra.set_printoptions(threshold=5)  # leaves precision, as PyTorch
    assert repr(terra.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    assert repr(terra.tensor([1.23456])) == "tensor([1.23])"
    terra.set_printoptions(profile="default")
    assert repr(terra.tensor([1.23456])) == "tensor([1.2346])"
    assert repr(terra.arange(10)) == "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"


def _return_type_cases():
    rng = np.random.default_rng(5)
    data = rng.standard_normal((3, 4))

    def x(lib):
        return _tensor(lib, data, "float32")

    return {
        "max": lambda lib: x(lib).max(1),
        "max keepdim": lambda lib: lib.max(x(lib), dim=0, keepdim=True),
        "min": lambda lib: lib.min(x(lib), 0),
        "sort": lambda lib: x(lib).sort(),
        "topk": lambda lib: x(lib).topk(2),
        "median": lambda lib: x(lib).median(1),
        "mode": lambda lib: lib.mode(lib.tensor([[1, 2, 2], [3, 3, 1]]), 1),
        "kthvalue": lambda lib: x(lib).kthvalue(2, 1),
        "cummax": lambda lib: x(lib).cummax(1),
        "cummin": lambda lib: lib.cummin(x(lib), 0),
        "aminmax": lambda lib: lib.aminmax(x(lib)),
        "aminmax dim": lambda lib: lib.aminmax(x(lib), dim=1),
        "histogram": lambda lib: lib.histogram(x(lib).reshape(-1), bins=4),
        "frexp": lambda lib: lib.frexp(x(lib)),
        "linalg.slogdet": lambda lib: lib.linalg.slogdet(lib.eye(3) * 2),
    }


RETURN_TYPE_CASES = _return_type_cases()


@pytest.mark.parametrize("name", list(RETURN_TYPE_CASES))
def test_return_type(name):
    expected, actual = RETURN_TYPE_CASES[name](torch), RETURN_TYPE_CASES[name](terra)
    assert repr(actual) == repr(expected)
    assert str(actual) == str(expected)
    assert type(actual).__name__ == type(expected).__name__
    assert type(actual).__module__ == type(expected).__module__ == "torch.return_types"


def test_return_type_stays_a_tuple():
    import pickle
    r = terra.tensor([[3., 1.], [2., 5.]]).max(1)
    values, indices = r
    assert isinstance(r, tuple) and len(r) == 2
    assert r[0] is r.values and r[1] is r.indices and values is r.values and indices is r.indices
    again = pickle.loads(pickle.dumps(r))
    assert type(again) is type(r) and again.values.tolist() == [3., 5.] and again.indices.tolist() == [0, 1]
    _public_name.use("terra")
    assert repr(r).startswith("terra.return_types.max(\nvalues=tensor([3., 5.]),\nindices=")
    assert type(r).__module__ == "terra.return_types"


def test_layout():
    assert terra.zeros(2).layout is terra.strided
    assert repr(terra.zeros(2).layout) == repr(torch.zeros(2).layout) == "torch.strided"
    assert str(terra.strided) == str(torch.strided)
    assert terra.zeros(2).layout == terra.strided
    _public_name.use("terra")
    assert repr(terra.strided) == "terra.strided"
