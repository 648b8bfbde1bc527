"""What runs in a DataLoader worker process (torch.utils.data._utils.worker of PyTorch 1.13):
seeding, get_worker_info, and the loop that turns (task index, sampler index) pairs from the
worker's index queue into (task index, batch) pairs on the shared result queue.

Messages on the index queue: (idx, index) a task; None: exit; _ResumeIteration: a persistent
worker starts a new epoch. On the result queue: (idx, data), where data may be an
ExceptionWrapper (re-raised by the main process) or _IterableDatasetStopIteration (the worker's
IterableDataset copy is exhausted)."""
import os
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import terra

# How often the main process checks that its workers are alive, and how long it waits for one
# to exit before terminating it.
MP_STATUS_CHECK_INTERVAL = 5.0
# How often an idle worker checks that its parent is alive and not shutting down. Short, because
# a shutdown from the garbage collector may find the index queues' feeder threads already closed
# (their finalizers run first), so that the None asking the worker to exit never arrives.
_WORKER_POLL_INTERVAL = 0.2

_worker_info = None


class WorkerInfo(object):
    """id, num_workers, seed and dataset (this worker's copy) of the current worker; read-only."""
    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError("Cannot assign attributes to {} objects".format(self.__class__.__name__))
        return super().__setattr__(key, val)

    def __repr__(self):
        items = ['{}={}'.format(k, getattr(self, k)) for k in self.__keys]
        return '{}({})'.format(self.__class__.__name__, ', '.join(items))


def get_worker_info():
    """The WorkerInfo of this DataLoader worker process; None in the main process."""
    return _worker_info


@dataclass(frozen=True)
class _IterableDatasetStopIteration(object):
    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration(object):
    pass


class ExceptionWrapper(object):
    """An exception caught in a worker, with its traceback as text (tracebacks do not pickle)."""

    def __init__(self, exc_info, where):
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = "Caught {} {}.\nOriginal {}".format(self.exc_type.__name__, self.where, self.exc_msg)
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)  # KeyError would repr() the message, escaping its newlines
        try:
            exception = self.exc_type(msg)
        except TypeError:
            # An exception type whose constructor wants other arguments.
            raise RuntimeError(msg) from None
        raise exception


class _KeyErrorMessage(str):
    def __repr__(self):
        return self


class _ParentWatchdog(object):
    """False once the process that started this worker is gone (the worker is then reparented)."""

    def __init__(self):
        self._parent_pid = os.getppid()

    def is_alive(self):
        return os.getppid() == self._parent_pid


def _seed(base_seed, worker_id):
    """PyTorch 1.13's seeding: random and terra with base_seed + id, numpy with the SeedSequence
    state PyTorch derives (its _generate_state equals numpy's SeedSequence.generate_state(4))."""
    seed = base_seed + worker_id
    random.seed(seed)
    terra.manual_seed(seed)
    try:
        import numpy as np
    except ImportError:
        return seed
    entropy = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    np.random.seed(np.random.SeedSequence(entropy).generate_state(4))
    return seed


def _make_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last):
    from .dataloader import _SingleProcessDataLoaderIter
    fetcher = _SingleProcessDataLoaderIter.__new__(_SingleProcessDataLoaderIter)
    fetcher._init_fetch(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
    return fetcher


def worker_loop(dataset_kind, dataset, index_queue, data_queue, done_event, auto_collation, collate_fn,
                drop_last, base_seed, init_fn, worker_id, num_workers):
    """The body of worker process `worker_id`."""
    from .dataloader import _DatasetKind
    global _worker_info
    try:
        seed = _seed(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_exception = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _make_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            # Reported as the answer to the first task.
            init_exception = ExceptionWrapper(sys.exc_info(), "in DataLoader worker process {}".format(worker_id))

        iteration_end = False
        watchdog = _ParentWatchdog()
        while watchdog.is_alive():
            try:
                r = index_queue.get(timeout=_WORKER_POLL_INTERVAL)
            except queue.Empty:
                if done_event.is_set():
                    break
                continue
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                fetcher = _make_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue  # the main process is shutting down, or this worker has no data left
            idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher._fetch(index)
                except Exception as e:
                    if isinstance(e, StopIteration) and dataset_kind == _DatasetKind.Iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(sys.exc_info(),
                                                "in DataLoader worker process {}".format(worker_id))
            data_queue.put((idx, data))
            del data, idx, index, r  # free the batch before blocking on the next task
    except KeyboardInterrupt:
        pass  # the main process is interrupted too and shuts the workers down
    if done_event.is_set():
        # Exit without waiting for the main process to read what is still buffered.
        data_queue.cancel_join_thread()
        data_queue.close()
