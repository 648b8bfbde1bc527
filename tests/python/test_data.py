"""terra.utils.data against torch.utils.data (PyTorch 1.13): DataLoader batches (shapes, dtypes,
values, len, drop_last, batch_sampler, iterable datasets), shuffling with terra's RNG (a
permutation, reproducible from a seeded generator), samplers, datasets and random_split, and the
structure and dtypes default_collate builds from tensors, numpy arrays, numbers, strings, dicts,
tuples, lists and namedtuples."""
import collections
import warnings

import numpy as np
import pytest

import terra
import torch
import torch.utils.data as tdata
import terra.utils.data as data

from parity import assert_close, to_numpy, to_terra

Point = collections.namedtuple('Point', ['x', 'y'])


def dtype_name(dtype):
    return str(dtype).split('.')[-1]


def assert_same_structure(actual, expected, path='batch'):
    """actual (terra) and expected (torch) have the same containers, tensor dtypes/shapes/values and
    leaves."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, terra.Tensor), f'{path}: {type(actual)} is not a terra.Tensor'
        assert dtype_name(actual.dtype) == dtype_name(expected.dtype), path
        assert tuple(actual.shape) == tuple(expected.shape), path
        np.testing.assert_array_equal(to_numpy(actual), expected.numpy(), err_msg=path)
    elif isinstance(expected, dict):
        assert type(actual) is type(expected) and list(actual) == list(expected), path
        for k in expected:
            assert_same_structure(actual[k], expected[k], f'{path}[{k!r}]')
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected), f'{path}: {type(actual)}'
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same_structure(a, e, f'{path}[{i}]')
    else:
        assert type(actual) is type(expected) and actual == expected, path


def samples(lib):
    """Eight samples mixing every kind of leaf default_collate handles."""
    rng = np.random.default_rng(0)
    conv = torch.tensor if lib is torch else to_terra
    out = []
    for i in range(8):
        out.append({
            'image': conv(rng.normal(size=(2, 3)).astype(np.float32)),
            'label': i % 3,
            'weight': 0.5 + i,
            'flag': bool(i % 2),
            'name': f's{i}',
            'np': rng.normal(size=(3,)),
            'np_int': np.arange(i, i + 2, dtype=np.int32),
            'np_scalar': np.float32(i) * 0.25,
            'pair': (i, float(i) / 3),
            'list': [conv(np.full(2, i, np.int64)), 'x'],
            'point': Point(i, conv(np.array([i, -i], np.float64))),
        })
    return out


def test_default_collate_matches_torch():
    assert_same_structure(data.default_collate(samples(terra)), tdata.default_collate(samples(torch)))


@pytest.mark.parametrize('field', ['label', 'weight', 'flag', 'name', 'np', 'np_int', 'np_scalar', 'pair',
                                   'list', 'point'])
def test_default_collate_of_each_leaf_kind(field):
    actual = data.default_collate([s[field] for s in samples(terra)])
    expected = tdata.default_collate([s[field] for s in samples(torch)])
    assert_same_structure(actual, expected, field)


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match='each element in list of batch should be of equal size'):
        data.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match='default_collate: batch must contain'):
        data.default_collate([object(), object()])


def test_default_convert():
    batch = {'a': np.arange(3), 'b': (np.float64(2.0), 'x'), 'c': 5}
    actual = data.default_convert(batch)
    expected = tdata.default_convert(batch)
    assert_same_structure(actual, expected)


class ListDataset(data.Dataset):
    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


def xy(n=10, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)).astype(np.float32), rng.integers(0, 5, size=n).astype(np.int64)


@pytest.mark.parametrize('batch_size,drop_last', [(4, False), (4, True), (5, False), (1, False), (16, False)])
def test_tensor_dataset_loader_matches_torch(batch_size, drop_last):
    x, y = xy()
    t_loader = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=batch_size,
                                drop_last=drop_last)
    loader = data.DataLoader(data.TensorDataset(to_terra(x), to_terra(y)), batch_size=batch_size,
                             drop_last=drop_last)
    assert len(loader) == len(t_loader)
    batches = list(loader)
    assert len(batches) == len(t_loader)
    for got, want in zip(batches, t_loader):
        assert_same_structure(got, want)


def test_tensor_dataset_gather_equals_generic_collate():
    """The one-gather path for TensorDataset (and Subsets of it) builds what collating samples
    one by one builds."""
    x, y = xy(12)
    ds = data.TensorDataset(to_terra(x), to_terra(y))
    subset = data.Subset(data.Subset(ds, [11, 0, 3, 5, 7, 9, 2, 4]), [7, 6, 5, 4, 3, 2, 1])
    generic = ListDataset([subset[i] for i in range(len(subset))])
    for fast, slow in zip(data.DataLoader(subset, batch_size=3), data.DataLoader(generic, batch_size=3)):
        assert isinstance(fast, list) and len(fast) == 2
        for a, b in zip(fast, slow):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def test_dict_dataset_loader_matches_torch():
    t_batches = list(tdata.DataLoader(ListDataset(samples(torch)), batch_size=3))
    batches = list(data.DataLoader(ListDataset(samples(terra)), batch_size=3))
    assert len(batches) == len(t_batches) == 3
    for got, want in zip(batches, t_batches):
        assert_same_structure(got, want)


def test_shuffle_is_a_reproducible_permutation():
    n = 50
    ds = data.TensorDataset(to_terra(np.arange(n, dtype=np.int64)))

    def order(**kw):
        return [int(v) for (batch,) in data.DataLoader(ds, batch_size=8, shuffle=True, **kw) for v in to_numpy(batch)]

    g = terra.Generator()
    g.manual_seed(123)
    first = order(generator=g)
    assert sorted(first) == list(range(n))
    assert first != list(range(n))
    g.manual_seed(123)
    assert order(generator=g) == first
    second_epoch = order(generator=g)
    assert sorted(second_epoch) == list(range(n)) and second_epoch != first
    terra.manual_seed(7)
    global_first = order()
    terra.manual_seed(7)
    assert order() == global_first


def test_samplers():
    ds = ListDataset(list(range(10)))
    assert list(data.SequentialSampler(ds)) == list(range(10))
    g = terra.Generator()
    g.manual_seed(0)
    rs = data.RandomSampler(ds, replacement=True, num_samples=70, generator=g)
    draws = list(rs)
    assert len(rs) == 70 and len(draws) == 70 and all(0 <= d < 10 for d in draws)
    assert len(set(draws)) > 5
    sub = list(data.SubsetRandomSampler([3, 5, 7, 9], generator=g))
    assert sorted(sub) == [3, 5, 7, 9]
    ws = list(data.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 4000, generator=g))
    counts = np.bincount(ws, minlength=4)
    assert counts[0] == 0 and counts[2] == 0
    assert abs(counts[3] / 4000 - 0.75) < 0.04
    no_repl = list(data.WeightedRandomSampler([1.0, 2.0, 3.0, 4.0, 0.5], 5, replacement=False, generator=g))
    assert sorted(no_repl) == [0, 1, 2, 3, 4]
    bs = data.BatchSampler(data.SequentialSampler(ds), batch_size=4, drop_last=False)
    assert list(bs) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and len(bs) == 3
    bs = data.BatchSampler(range(10), batch_size=4, drop_last=True)
    assert list(bs) == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(bs) == 2
    with pytest.raises(ValueError, match='batch_size should be a positive integer'):
        data.BatchSampler(range(3), 0, False)


def test_batch_sampler_and_collate_fn_arguments():
    ds = ListDataset([(i, float(i)) for i in range(7)])
    loader = data.DataLoader(ds, batch_sampler=[[6, 0], [1, 2, 3]], collate_fn=lambda b: b)
    assert list(loader) == [[(6, 6.0), (0, 0.0)], [(1, 1.0), (2, 2.0), (3, 3.0)]]
    assert len(loader) == 2
    unbatched = list(data.DataLoader(ds, batch_size=None))
    assert len(unbatched) == 7 and unbatched[3] == [3, 3.0]
    with pytest.raises(ValueError, match='mutually exclusive'):
        data.DataLoader(ds, sampler=data.SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match='batch_sampler option is mutually exclusive'):
        data.DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    loader = data.DataLoader(ds, batch_size=2)
    with pytest.raises(ValueError, match='should not be set after'):
        loader.batch_size = 3


def counting_dataset(base):
    """An iterable dataset class (over base) yielding 0..n-1, with a length."""
    class Counting(base):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n
    return Counting


Counting = counting_dataset(data.IterableDataset)
TorchCounting = counting_dataset(tdata.IterableDataset)


@pytest.mark.parametrize('drop_last', [False, True])
def test_iterable_dataset(drop_last):
    loader = data.DataLoader(Counting(10), batch_size=3, drop_last=drop_last)
    t_loader = tdata.DataLoader(TorchCounting(10), batch_size=3, drop_last=drop_last)
    assert len(loader) == len(t_loader)
    for got, want in zip(list(loader), list(t_loader)):
        assert_same_structure(got, want)
    assert len(list(loader)) == len(list(t_loader))
    chained = list(data.DataLoader(Counting(2) + Counting(3), batch_size=None))
    assert [int(v) for v in chained] == [0, 1, 0, 1, 2]
    with pytest.raises(ValueError, match='expected unspecified shuffle option'):
        data.DataLoader(Counting(3), shuffle=True)


def test_pin_memory_is_a_no_op_on_the_cpu():
    # Worker processes are tested in test_dataloader_workers.py (each in a child interpreter).
    x, y = xy(6)
    ds = data.TensorDataset(to_terra(x), to_terra(y))
    loader = data.DataLoader(ds, batch_size=4, pin_memory=True)
    batches = list(loader)
    assert [tuple(b[0].shape) for b in batches] == [(4, 3), (2, 3)]
    assert data.get_worker_info() is None


def test_datasets_and_random_split():
    x, y = xy(10)
    ds = data.TensorDataset(to_terra(x), to_terra(y))
    assert len(ds) == 10
    item = ds[3]
    assert isinstance(item, tuple) and len(item) == 2
    assert_close(item[0], x[3])
    with pytest.raises(AssertionError, match='Size mismatch'):
        data.TensorDataset(to_terra(x), to_terra(y[:5]))

    cat = ListDataset([0, 1, 2]) + ListDataset([10, 11])
    assert isinstance(cat, data.ConcatDataset) and len(cat) == 5
    assert [cat[i] for i in range(5)] == [0, 1, 2, 10, 11] and cat[-1] == 11 and cat.cumulative_sizes == [3, 5]

    g = terra.Generator()
    g.manual_seed(5)
    parts = data.random_split(ListDataset(list(range(20))), [12, 8], generator=g)
    assert [len(p) for p in parts] == [12, 8]
    values = [p[i] for p in parts for i in range(len(p))]
    assert sorted(values) == list(range(20)) and values != list(range(20))
    g.manual_seed(5)
    again = data.random_split(ListDataset(list(range(20))), [12, 8], generator=g)
    assert [again[0][i] for i in range(12)] == values[:12]
    fractions = data.random_split(ListDataset(list(range(11))), [0.5, 0.3, 0.2], generator=g)
    assert [len(p) for p in fractions] == [len(p) for p in tdata.random_split(range(11), [0.5, 0.3, 0.2])]
    with pytest.raises(ValueError, match='Sum of input lengths'):
        data.random_split(ListDataset(list(range(5))), [2, 2])


def test_import_paths():
    from terra.utils.data import (Dataset, TensorDataset, DataLoader, RandomSampler, SequentialSampler,  # noqa
                                  BatchSampler, Subset, random_split, default_collate)
    from terra.utils.data._utils.collate import default_collate as dc
    from terra.utils.data.dataloader import default_collate as dc2
    assert dc is default_collate is dc2
    assert terra.utils.data is data


def test_warning_free_iteration():
    x, y = xy(8)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for _ in data.DataLoader(data.TensorDataset(to_terra(x), to_terra(y)), batch_size=3, shuffle=True):
            pass
