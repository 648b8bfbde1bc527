"""One pass over a DataLoader with num_workers > 0 (PyTorch 1.13's _MultiProcessingDataLoaderIter).

Each worker process has its own index queue; all answer on one result queue. Tasks (sampler
indices numbered by send order) go round-robin to the workers that still have data, at most
prefetch_factor * num_workers outstanding; answers that arrive early wait in _task_info until
their turn, so batches come out in sampler order. Workers are shut down when the pass ends,
when the iterator is deleted or collected, or (daemonic processes) at interpreter exit; with
persistent_workers the DataLoader keeps the iterator and _reset starts the next epoch."""
import itertools
import multiprocessing
import queue
import signal
import time

import terra
import terra.multiprocessing  # noqa: F401  (tensor pickling rules; torch alias in spawned children)

from . import _worker


def _context(spec):
    """The multiprocessing context of the `multiprocessing_context` argument."""
    if spec is None:
        return multiprocessing.get_context()
    if isinstance(spec, str):
        if spec not in multiprocessing.get_all_start_methods():
            raise ValueError('multiprocessing_context option should specify a valid start method in {!r}, but '
                             'got multiprocessing_context={!r}'.format(multiprocessing.get_all_start_methods(), spec))
        return multiprocessing.get_context(spec)
    if not isinstance(spec, multiprocessing.context.BaseContext):
        raise TypeError('multiprocessing_context option should be a valid context object or a string specifying '
                        'the start method, but got multiprocessing_context={}'.format(spec))
    return spec


def _base_seed(loader):
    """The iterator's base seed (PyTorch: one draw from the loader's generator, else the default
    one). Terra's num_workers=0 path draws none, and the sampler must find the generator as it
    would there to give the same order, so the draw is taken without advancing the generator and
    made distinct per iterator by the loader's count of iterators (README: differences)."""
    generator = terra.default_generator if loader.generator is None else loader.generator
    state = generator.get_state()
    try:
        draw = int(terra.randint(0, 2 ** 63 - 1, (), generator=generator, dtype=terra.int64).item())
    finally:
        generator.set_state(state)
    count = loader.__dict__.get("_worker_iterators", 0)
    loader._worker_iterators = count + 1
    return (draw + count * 0x9E3779B97F4A7C15) % 2 ** 63  # an odd step: distinct for 2**63 iterators


def _exit_description(exitcode):
    if exitcode is not None and exitcode < 0:
        return "killed by signal {}".format(signal.Signals(-exitcode).name)
    return "exit code {}".format(exitcode)


class _MultiProcessingDataLoaderIter(object):
    def __init__(self, loader):
        context = _context(loader.multiprocessing_context)
        self._dataset_kind = loader._dataset_kind
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent_workers = loader.persistent_workers
        self._shutdown = False
        self._index_queues, self._workers = [], []
        self._base_seed = _base_seed(loader)
        self._worker_result_queue = context.Queue()
        self._workers_done_event = context.Event()
        for i in range(self._num_workers):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()  # exiting never waits for a worker to read its tasks
            worker = context.Process(
                target=_worker.worker_loop,
                args=(self._dataset_kind, loader.dataset, index_queue, self._worker_result_queue,
                      self._workers_done_event, loader._auto_collation, loader.collate_fn, loader.drop_last,
                      self._base_seed, loader.worker_init_fn, i, self._num_workers),
                daemon=True)
            worker.start()
            self._index_queues.append(index_queue)
            self._workers.append(worker)
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._send_idx = 0  # next task index to send
        self._rcvd_idx = 0  # next task index to return
        # task index -> (worker id,) while outstanding, (worker id, data) once answered early
        self._task_info = {}
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # A persistent worker acknowledges the new epoch; answers of the last epoch's tasks
            # still in flight arrive before its acknowledgement and are dropped.
            for index_queue in self._index_queues:
                index_queue.put(_worker._ResumeIteration())
            resumed = 0
            while resumed < self._num_workers:
                idx, _ = self._get_data()
                if isinstance(idx, _worker._ResumeIteration):
                    resumed += 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._index_sampler)

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        return data

    def _try_put_index(self):
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return  # every worker has run out of data (IterableDataset)
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_id,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _next_data(self):
        while True:
            # Skip the tasks of workers that ended (IterableDataset) before answering them.
            while self._rcvd_idx < self._send_idx:
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._workers_status[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                return self._process_data(self._task_info.pop(self._rcvd_idx)[1])

            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _worker._IterableDatasetStopIteration):
                self._workers_status[data.worker_id] = False
                if not self._persistent_workers:
                    self._index_queues[data.worker_id].put(None)
                self._try_put_index()
            elif idx != self._rcvd_idx:
                self._task_info[idx] += (data,)
            else:
                del self._task_info[idx]
                return self._process_data(data)

    def _process_data(self, data):
        self._rcvd_idx += 1
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        return data

    def _get_data(self):
        """The next (idx, data) from the result queue; RuntimeError after `timeout` seconds or
        when a worker died. Waits in short slices so that a dead worker is noticed."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _worker.MP_STATUS_CHECK_INTERVAL
            if deadline is not None:
                wait = min(wait, max(deadline - time.monotonic(), 0))
            try:
                return self._worker_result_queue.get(timeout=wait)
            except queue.Empty:
                pass
            self._raise_if_a_worker_died()
            if deadline is not None and time.monotonic() >= deadline:
                raise RuntimeError('DataLoader timed out after {} seconds'.format(self._timeout))

    def _raise_if_a_worker_died(self):
        failed = [(i, w) for i, w in enumerate(self._workers) if self._workers_status[i] and not w.is_alive()]
        if not failed:
            return
        details = ", ".join("worker {} (pid {}) {}".format(i, w.pid, _exit_description(w.exitcode))
                            for i, w in failed)
        pids = ", ".join(str(w.pid) for _, w in failed)
        self._shutdown_workers()
        raise RuntimeError('DataLoader worker (pid(s) {}) exited unexpectedly: {}'.format(pids, details))

    def _shutdown_workers(self):
        """Stops every worker: asks them to exit, then terminates those that do not within
        MP_STATUS_CHECK_INTERVAL. Safe to call more than once, and during interpreter exit."""
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._workers_done_event.set()
            for index_queue in self._index_queues:
                index_queue.put(None)
            for worker in self._workers:
                worker.join(timeout=_worker.MP_STATUS_CHECK_INTERVAL)
            for index_queue in self._index_queues:
                index_queue.close()
            # Nothing more is read: do not wait for the result queue's buffered answers at exit.
            self._worker_result_queue.cancel_join_thread()
            self._worker_result_queue.close()
        finally:
            for worker in self._workers:
                if worker.is_alive():
                    worker.terminate()
                    worker.join()

    def __del__(self):
        if hasattr(self, "_workers"):  # __init__ may have failed before starting any
            self._shutdown_workers()
