"""DataLoader as torch.utils.data.DataLoader (1.13).

`num_workers == 0` loads in the calling process (below); `num_workers > 0` starts worker
processes with PyTorch 1.13's semantics (_multiprocessing_iter.py, _worker.py): per-worker
seeding, get_worker_info, in-order delivery, prefetch_factor, persistent_workers, timeout and
worker errors. Batches cross processes pickled (copied), not in shared memory; a worker forked
inside a co-executed loop runs eagerly. `pin_memory` is accepted and has no effect on the CPU.

Note [TensorDataset batches]: for a TensorDataset (or Subsets of one) collated by default_collate,
a batch is gathered with one index_select per tensor instead of batch_size indexing ops and a
stack. The result is the same (default_collate stacks the samples t[i] into a new tensor), and a
co-executed training loop records two ops per batch instead of hundreds.
"""
import math

import terra

from . import _utils
from ._worker import get_worker_info
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ['DataLoader', 'get_worker_info', 'default_collate', 'default_convert']

default_collate = _utils.collate.default_collate
default_convert = _utils.collate.default_convert


class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable-style dataset: yields None forever."""

    def __init__(self):
        super().__init__(None)

    def __iter__(self):
        while True:
            yield None


class _DatasetKind(object):
    Map = 0
    Iterable = 1


class DataLoader(object):
    """Iterates over a dataset in batches: sampler (or shuffle), batch_size/drop_last or a
    batch_sampler, and a collate_fn that builds each batch."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=2, persistent_workers=False,
                 pin_memory_device=""):
        if num_workers < 0:
            raise ValueError('num_workers option should be non-negative; '
                             'use num_workers=0 to disable multiprocessing.')
        if timeout < 0:
            raise ValueError('timeout option should be non-negative')
        if num_workers == 0 and prefetch_factor != 2:
            raise ValueError('prefetch_factor option could only be specified in multiprocessing.'
                             'let num_workers > 0 to enable multiprocessing.')
        if persistent_workers and num_workers == 0:
            raise ValueError('persistent_workers option needs num_workers > 0')

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "shuffle option, but got shuffle={}".format(shuffle))
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "sampler option, but got sampler={}".format(sampler))
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "batch_sampler option, but got batch_sampler={}".format(batch_sampler))
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = _DatasetKind.Map

        if sampler is not None and shuffle:
            raise ValueError('sampler option is mutually exclusive with shuffle')

        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError('batch_sampler option is mutually exclusive '
                                 'with batch_size, shuffle, sampler, and drop_last')
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError('batch_size=None option disables auto-batching '
                             'and is mutually exclusive with drop_last')

        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)

        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator

        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterator = None
        self.__initialized = True

    def __setattr__(self, attr, val):
        if self.__dict__.get('_DataLoader__initialized', False) and attr in (
                'batch_size', 'batch_sampler', 'sampler', 'drop_last', 'dataset', 'persistent_workers'):
            raise ValueError('{} attribute should not be set after {} is '
                             'initialized'.format(attr, self.__class__.__name__))
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        from ._multiprocessing_iter import _MultiProcessingDataLoaderIter
        if not self.persistent_workers:
            return _MultiProcessingDataLoaderIter(self)
        # Persistent workers: one iterator (and its processes) serves every epoch.
        if self._iterator is None:
            self._iterator = _MultiProcessingDataLoaderIter(self)
        else:
            self._iterator._reset(self, first_iter=False)
        return self._iterator

    def __len__(self):
        if self._dataset_kind == _DatasetKind.Iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)


def _tensor_dataset_source(dataset):
    """(tensors, index map) when dataset is a TensorDataset or Subsets of one, else None
    (Note [TensorDataset batches])."""
    index_maps = []
    while type(dataset) is Subset:
        index_maps.append(dataset.indices)
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:
        return None
    return dataset.tensors, index_maps[::-1]


class _SingleProcessDataLoaderIter(object):
    """One pass over a DataLoader."""

    def __init__(self, loader):
        self._loader = loader
        self._index_sampler = loader._index_sampler
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._init_fetch(loader._dataset_kind, loader.dataset, loader._auto_collation, loader.collate_fn,
                         loader.drop_last)

    def _init_fetch(self, dataset_kind, dataset, auto_collation, collate_fn, drop_last):
        """What _fetch needs (a worker process fetches with it too: _worker.py)."""
        self._dataset = dataset
        self._auto_collation = auto_collation
        self._collate_fn = collate_fn
        self._drop_last = drop_last
        self._ended = False
        if dataset_kind == _DatasetKind.Iterable:
            self._dataset_iter = iter(self._dataset)
            self._fetch = self._fetch_iterable
        else:
            self._tensor_source = None
            if self._auto_collation and self._collate_fn is default_collate:
                self._tensor_source = _tensor_dataset_source(self._dataset)
            self._fetch = self._fetch_map

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._index_sampler)

    def __next__(self):
        index = next(self._sampler_iter)  # may raise StopIteration
        data = self._fetch(index)
        self._num_yielded += 1
        return data

    def _fetch_map(self, index):
        if not self._auto_collation:
            return self._collate_fn(self._dataset[index])
        if self._tensor_source is not None:
            return self._gather_tensor_batch(index)
        getitems = getattr(self._dataset, "__getitems__", None)
        data = getitems(index) if getitems else [self._dataset[idx] for idx in index]
        return self._collate_fn(data)

    def _gather_tensor_batch(self, index):
        tensors, index_maps = self._tensor_source
        for indices in reversed(index_maps):
            index = [indices[i] for i in index]
        n = len(tensors[0])
        index = [i + n if i < 0 else i for i in index]
        idx = terra.tensor(index, dtype=terra.int64)
        return [t.index_select(0, idx) for t in tensors]

    def _fetch_iterable(self, index):
        if self._ended:
            raise StopIteration
        if not self._auto_collation:
            return self._collate_fn(next(self._dataset_iter))
        data = []
        for _ in index:
            try:
                data.append(next(self._dataset_iter))
            except StopIteration:
                self._ended = True
                break
        if len(data) == 0 or (self._drop_last and len(data) < len(index)):
            raise StopIteration
        return self._collate_fn(data)
