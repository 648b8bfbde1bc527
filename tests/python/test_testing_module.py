"""terra.testing against torch.testing of PyTorch 1.13: assert_close passes and fails on the same
inputs with the same exception and message (dtype and Size reprs aside), assert_allclose keeps its
deprecated behaviour, and make_tensor draws from the same ranges with the same flags."""
import math
import warnings

import numpy as np
import pytest
import torch

import terra

DTYPES = ["float32", "float64", "int32", "int64", "bool"]


def outcome(lib, actual, expected, **options):
    """None when assert_close passes, else (exception type, message with terra's reprs)."""
    try:
        lib.testing.assert_close(actual, expected, **options)
    except Exception as error:  # noqa: BLE001 - the type is part of what is compared
        return type(error).__name__, str(error).replace("torch.", "terra.")
    return None


def both(make, **options):
    """assert_close's outcome for terra and torch on inputs built by make(lib)."""
    return outcome(terra, *make(terra), **options), outcome(torch, *make(torch), **options)


def tensors(a, b):
    return lambda lib: (lib.from_numpy(np.array(a)), lib.from_numpy(np.array(b)))


def random_case(rng):
    """Two arrays that are equal, slightly apart (inside, at or beyond the default tolerance),
    with NaN/inf, another dtype or another shape."""
    dtype = DTYPES[rng.integers(len(DTYPES))]
    shape = tuple(rng.integers(1, 4, size=rng.integers(0, 3)))
    if dtype == "bool":
        a = rng.integers(0, 2, size=shape).astype(bool)
    elif dtype.startswith("int"):
        a = rng.integers(-50, 50, size=shape).astype(dtype)
    else:
        a = (rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 4)).astype(dtype)
    b = a.copy()
    kind = rng.integers(8)
    if kind == 1 and a.size and dtype.startswith("float"):
        b = b + (rng.standard_normal(shape) * 10.0 ** -rng.integers(2, 9)).astype(dtype)
    elif kind == 2 and a.size and dtype.startswith("float"):
        scale = 1e-5 if dtype == "float32" else 1e-7
        b = (a + np.sign(a) * scale * rng.choice([0.5, 1.0, 1.5, 2.0])).astype(dtype)
    elif kind == 3 and a.size and dtype.startswith("float"):
        b.flat[rng.integers(b.size)] = rng.choice([np.nan, np.inf, -np.inf])
        if rng.integers(2):
            a = b.copy()
    elif kind == 4:
        b = b.astype(DTYPES[rng.integers(len(DTYPES))])
    elif kind == 5:
        b = np.zeros(shape + (2,), dtype=dtype)
    elif kind == 6 and a.size and dtype != "bool":
        b.flat[rng.integers(b.size)] += 1
    return a, b


def random_options(rng):
    options = {}
    if rng.integers(3) == 0:
        options["equal_nan"] = True
    if rng.integers(3) == 0:
        options["check_dtype"] = False
    if rng.integers(3) == 0:
        options["rtol"], options["atol"] = float(rng.choice([0.0, 1e-3, 0.1])), float(rng.choice([0.0, 1e-4, 1.0]))
    return options


def test_random_cases_pass_and_fail_with_torchs_exceptions_and_messages():
    rng = np.random.default_rng(0)
    failures = 0
    for _ in range(600):
        a, b = random_case(rng)
        options = random_options(rng)
        got, want = both(tensors(a, b), **options)
        assert got == want, (a, b, options)
        failures += want is not None
    assert 150 < failures < 500  # both outcomes are exercised


@pytest.mark.parametrize("a, b, options", [
    ([1.0, float("nan")], [1.0, float("nan")], {}),
    ([1.0, float("nan")], [1.0, float("nan")], {"equal_nan": True}),
    ([float("inf")], [float("inf")], {}),
    ([float("inf")], [float("-inf")], {}),
    ([1e30, 1.0], [float("inf"), 1.0], {}),
    ([0.0, 1.0], [1e-5, 1.0], {}),
    ([0.0, 1.0], [1.0001e-5, 1.0], {}),
    ([[1, 2], [3, 4]], [[1, 2], [3, 5]], {}),
    ([[1, 2], [3, 4]], [[1, 2], [3, 5]], {"rtol": 0.3, "atol": 0.0}),
    ([1, 2], [1.0, 2.0], {}),
    ([1, 2], [1.0, 2.5], {"check_dtype": False}),
    ([True, False], [True, True], {}),
    (3.0, 3.5, {}),
    ([1.0, 2.0], [1.0, 2.0], {"rtol": 1e-3}),
])
def test_edge_cases_match_torch(a, b, options):
    for to in ("float32", "float64"):
        def make(lib):
            x, y = np.array(a), np.array(b)
            cast = lambda v: v.astype(to) if v.dtype.kind == "f" else v  # noqa: E731
            return lib.from_numpy(cast(x)), lib.from_numpy(cast(y))
        got, want = both(make, **options)
        assert got == want


def test_numbers_sequences_mappings_none_and_numpy_pair_up_as_in_torch():
    cases = [
        (1, 1), (1, 1.0), (1.0, 1.0 + 1e-8), (1.0, 1.1), (float("nan"), float("nan")), (np.float32(1.5), 1.5),
        (True, True), (True, False), (None, None), (None, 1), ("a", "a"),
        ([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 2.0, 3.0]), ((1, [2, 3]), (1, [2, 4])),
        ({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.5}), ({"a": 1}, {"b": 1}),
        (np.array([1.0, 2.0]), np.array([1.0, 2.5])), (np.array([1, 2]), np.array([1, 2])),
    ]
    for a, b in cases:
        assert outcome(terra, a, b) == outcome(torch, a, b), (a, b)
    mixed = lambda lib: ([lib.ones(2), {"x": lib.zeros(1)}], [lib.ones(2), {"x": lib.ones(1)}])  # noqa: E731
    got, want = both(mixed)
    assert got == want and "The failure occurred for item [1]['x']" in got[1]


def test_msg_replaces_or_wraps_the_message():
    make = tensors([1.0], [2.0])
    assert both(make, msg="custom")[0] == ("AssertionError", "custom")
    got, want = both(make, msg=lambda generated: "prefix\n" + generated)
    assert got == want and got[1].startswith("prefix\nTensor-likes are not close!")


def test_tolerances_must_come_together_and_tensor_vs_array_has_no_pair():
    assert both(tensors([1.0], [1.0]), rtol=1e-3) == (("ValueError", "Both 'rtol' and 'atol' must be either "
                                                       "specified or omitted, but got no atol."),) * 2
    got, want = outcome(terra, terra.ones(2), np.ones(2)), outcome(torch, torch.ones(2), np.ones(2))
    assert got[0] == want[0] == "TypeError"
    assert got[1].startswith("No comparison pair was able to handle inputs of type <class 'terra.")


def test_stride_is_checked_only_when_asked():
    make = lambda lib: (lib.ones(2, 3), lib.ones(3, 2).t())  # noqa: E731
    assert both(make) == (None, None)
    got, want = both(make, check_stride=True)
    assert got == want and "'stride()'" in got[1]


def test_parameters_and_grad_tensors_compare_by_value():
    weight = terra.nn.Parameter(terra.ones(2))
    terra.testing.assert_close(weight * 2, terra.full((2,), 2.0))
    with pytest.raises(AssertionError, match="Mismatched elements: 2 / 2"):
        terra.testing.assert_close(weight, terra.zeros(2))


def test_assert_allclose_is_deprecated_loose_and_nan_equal():
    for lib in (terra, torch):
        with pytest.warns(FutureWarning, match="assert_allclose"):
            lib.testing.assert_allclose(lib.tensor([1.0, float("nan")]), [1.00005, float("nan")])
        with pytest.warns(FutureWarning):
            lib.testing.assert_allclose(lib.tensor([1, 2]), lib.tensor([1.0, 2.0]))
        with pytest.raises(AssertionError, match="custom"):
            lib.testing.assert_allclose(lib.tensor([1.0]), [1.1], msg="custom")


@pytest.mark.parametrize("dtype", DTYPES)
def test_make_tensor_draws_from_torchs_default_ranges(dtype):
    got = terra.testing.make_tensor(2000, dtype=getattr(terra, dtype), device="cpu").numpy()
    want = torch.testing.make_tensor(2000, dtype=getattr(torch, dtype), device="cpu").numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    assert (got.min(), got.max()) == pytest.approx((want.min(), want.max()), abs=0.1)
    assert len(np.unique(got)) == pytest.approx(len(np.unique(want)), rel=0.05)


@pytest.mark.parametrize("dtype, low, high", [("float32", -1, 1), ("float64", 5, 5), ("int64", -2.5, 2.5),
                                               ("int32", 0, 1e20), ("float32", -math.inf, 0)])
def test_make_tensor_ranges_are_clamped_and_rounded_as_in_torch(dtype, low, high):
    got = terra.testing.make_tensor((50, 4), dtype=getattr(terra, dtype), device="cpu", low=low, high=high).numpy()
    want = torch.testing.make_tensor((50, 4), dtype=getattr(torch, dtype), device="cpu", low=low, high=high).numpy()
    assert got.shape == want.shape == (50, 4)
    info = np.finfo(dtype) if dtype.startswith("float") else np.iinfo(dtype)
    lo, hi = max(low, info.min), min(high, info.max)
    if dtype.startswith("int"):
        lo, hi = math.floor(lo), math.ceil(hi)
    assert np.all(got >= lo) and np.all(got <= hi) and np.all(want >= lo) and np.all(want <= hi)


def test_make_tensor_flags():
    for lib in (terra, torch):
        t = lib.testing.make_tensor([3, 4], dtype=lib.float64, device="cpu", requires_grad=True, noncontiguous=True)
        assert t.shape == (3, 4) and t.requires_grad and not t.is_contiguous() and t.is_leaf
        one = lib.testing.make_tensor(1, dtype=lib.float32, device="cpu", noncontiguous=True)
        assert one.is_contiguous()
        for dtype in (lib.int32, lib.bool, lib.float32):
            t = lib.testing.make_tensor(500, dtype=dtype, device="cpu", low=0 if dtype is not lib.bool else None,
                                        high=2 if dtype is not lib.bool else None, exclude_zero=True)
            assert not (t == 0).any()
        assert (lib.testing.make_tensor(100, dtype=lib.float32, device="cpu", low=0, high=0,
                                        exclude_zero=True) == lib.finfo(lib.float32).tiny).all()


@pytest.mark.parametrize("kwargs, error", [
    (dict(dtype="int64", requires_grad=True), ValueError),
    (dict(dtype="bool", requires_grad=True), ValueError),
    (dict(dtype="float32", low=2, high=1), ValueError),
    (dict(dtype="float32", low=math.nan), ValueError),
])
def test_make_tensor_errors_as_in_torch(kwargs, error):
    for lib in (terra, torch):
        options = dict(kwargs, dtype=getattr(lib, kwargs["dtype"]))
        with pytest.raises(error):
            lib.testing.make_tensor(2, device="cpu", **options)
    with pytest.raises(TypeError, match="not supported"):
        terra.testing.make_tensor(2, dtype=terra.float16, device="cpu")


def test_terra_testing_is_imported_on_first_use():
    import subprocess
    import sys
    code = "import sys, terra; assert 'terra.testing' not in sys.modules; terra.testing.assert_close(1, 1)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    warnings.simplefilter("default")
