"""terra.cuda and terra.OutOfMemoryError. Without a device (every CI machine) each function must
answer as PyTorch does on a machine without one; with a device (tools/gpu-check) the queries,
the caching allocator's counters, pinned memory and non_blocking copies are checked for real.
Device tests skip with a visible reason."""
import numpy as np
import pytest

import terra
import terra.cuda as cuda

HAVE_CUDA = cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAVE_CUDA, reason="no CUDA device: " + terra._C._cuda_unavailable_reason())
needs_no_cuda = pytest.mark.skipif(HAVE_CUDA, reason="a CUDA device is present")
MIB = 2**20


def test_out_of_memory_error_is_a_runtime_error_as_in_pytorch():
    assert issubclass(terra.OutOfMemoryError, RuntimeError)
    assert cuda.OutOfMemoryError is terra.OutOfMemoryError
    assert terra.OutOfMemoryError.__module__ == "terra"
    # Every ErrorKind::OutOfMemory raises it, the CPU arena's too. 4 PiB is beyond the address space:
    # a machine that overcommits memory (the GPU machine's does) still refuses it.
    with pytest.raises(terra.OutOfMemoryError, match="out of memory: tried to allocate"):
        terra.empty(1 << 50)


@needs_no_cuda
def test_without_a_device_the_queries_answer_as_pytorch_does():
    assert cuda.is_available() is False
    assert cuda.device_count() == 0
    assert cuda.is_built() == bool(terra._C._built_with_cuda)
    assert cuda.is_initialized() is False
    for counter in (cuda.memory_allocated, cuda.max_memory_allocated, cuda.memory_reserved,
                    cuda.max_memory_reserved):
        assert counter() == 0
    assert cuda.memory_stats() == {}
    # No-ops without a device, as torch.cuda's are.
    cuda.empty_cache()
    cuda.reset_peak_memory_stats()
    cuda.manual_seed(3)
    cuda.manual_seed_all(3)
    assert terra.accelerator.is_available() is False


@needs_no_cuda
@pytest.mark.parametrize("call", [cuda.current_device, cuda.get_device_name, cuda.get_device_properties,
                                  cuda.synchronize, cuda.init, lambda: terra.zeros(2).pin_memory()])
def test_without_a_device_what_needs_one_says_why(call):
    with pytest.raises(RuntimeError, match="(No CUDA GPUs are available|cannot pin memory): .+"):
        call()


def test_a_cpu_tensor_is_not_pinned():
    assert terra.zeros(3).is_pinned() is False
    assert terra.zeros(0).is_pinned() is False


# ---- With a device ----

@needs_cuda
def test_device_queries():
    assert cuda.device_count() >= 1
    assert cuda.current_device() == 0
    props = cuda.get_device_properties(0)
    assert props.total_memory > 0 and props.major >= 7 and props.multi_processor_count > 0
    assert cuda.get_device_name() == props.name == cuda.get_device_name("cuda:0")
    assert cuda.get_device_capability() == (props.major, props.minor)
    cuda.synchronize()


@needs_cuda
def test_memory_counters_follow_tensors():
    cuda.synchronize()
    cuda.empty_cache()
    cuda.reset_peak_memory_stats()
    before = cuda.memory_allocated()
    x = terra.ones(4 * MIB // 4, device="cuda")
    assert cuda.memory_allocated() >= before + 4 * MIB
    assert cuda.max_memory_allocated() >= cuda.memory_allocated()
    assert cuda.memory_reserved() >= cuda.memory_allocated()
    del x
    assert cuda.memory_allocated() == before
    assert cuda.memory_reserved() > 0  # cached, not given back
    assert cuda.max_memory_allocated() >= before + 4 * MIB
    cuda.empty_cache()
    assert cuda.memory_reserved() == cuda.memory_stats()["reserved_bytes.all.current"]
    cuda.reset_peak_memory_stats()
    assert cuda.max_memory_allocated() == cuda.memory_allocated()


@needs_cuda
def test_out_of_memory_on_the_device_raises_and_leaves_cuda_usable():
    with pytest.raises(terra.OutOfMemoryError, match="CUDA out of memory"):
        terra.empty(1 << 48, device="cuda")
    assert cuda.memory_stats()["num_ooms"] >= 1
    x = terra.arange(8.0, device="cuda")
    assert (x * 2).cpu().tolist() == [float(2 * i) for i in range(8)]


@needs_cuda
@pytest.mark.parametrize("pinned", [False, True])
@pytest.mark.parametrize("non_blocking", [False, True])
def test_host_to_device_copies(pinned, non_blocking):
    data = np.random.default_rng(0).standard_normal((257, 33)).astype(np.float32)
    src = terra.tensor(data)
    if pinned:
        src = src.pin_memory()
        assert src.is_pinned()
        assert src.pin_memory() is src
    d = src.to("cuda", non_blocking=non_blocking)
    del src  # the copy may still be in flight: the staging or pinned block must outlive it
    for _ in range(20):  # reuse pressure on the pinned pool
        terra.tensor(data).to("cuda", non_blocking=True)
    cuda.synchronize()
    np.testing.assert_array_equal(d.cpu().numpy(), data)


def _accumulate(device, steps=40):
    terra.manual_seed(0)
    x = terra.randn(64, 64, device=device)
    w = terra.randn(64, 64, device=device) * 0.1
    acc = terra.zeros(64, 64, device=device)
    for _ in range(steps):
        with terra.step():
            acc = acc + ((x * w).sin() + x).tanh() * 0.5
    return acc.cpu().numpy()


def test_accumulate_coexecutes_on_the_cpu():
    """The loop below replays on the CPU too (one span per iteration), without CUDA graphs."""
    eager = _accumulate("cpu")
    with terra.coexec():
        got = _accumulate("cpu")
    stats = terra.debug.stats()
    assert stats["iterations_replayed"] > 0 and stats["cuda_graph_captures"] == 0, stats
    np.testing.assert_allclose(got, eager, rtol=1e-6)


@needs_cuda
def test_cuda_graphs_replay_coexecuted_iterations_as_plain_launches_compute(monkeypatch):
    """Each co-executed iteration is one plan on the device: after a warm-up run it is captured
    (the accumulator, a new tensor every iteration, is read from the graph's own copy; the new
    accumulator is copied out of the graph's storage) and replayed, bitwise what plain launches
    compute (TERRA_CUDA_GRAPHS=0)."""
    eager = _accumulate("cuda")
    with terra.coexec():
        graphs = _accumulate("cuda")
    stats = terra.debug.stats()
    assert stats["iterations_replayed"] > 0, stats
    assert stats["cuda_graph_replays"] > stats["cuda_graph_captures"] > 0, stats
    monkeypatch.setenv("TERRA_CUDA_GRAPHS", "0")
    with terra.coexec():
        plain = _accumulate("cuda")
    off = terra.debug.stats()
    assert off["iterations_replayed"] > 0 and off["cuda_graph_captures"] == off["cuda_graph_replays"] == 0, off
    np.testing.assert_array_equal(graphs, plain)
    np.testing.assert_allclose(graphs, eager, rtol=1e-5, atol=1e-6)  # fused kernels: not bitwise eager's


@needs_no_cuda
def test_without_a_device_the_rng_state_functions_answer_as_pytorch_does():
    """The *_all forms see no devices (a checkpoint saving them works on a CPU-only machine);
    the per-device forms raise."""
    assert cuda.get_rng_state_all() == []
    cuda.set_rng_state_all([])
    for call in (cuda.get_rng_state, cuda.initial_seed):
        with pytest.raises(RuntimeError, match="No CUDA GPUs are available"):
            call()


@needs_cuda
def test_a_devices_rng_state_saves_and_restores_what_the_kernels_draw():
    state = cuda.get_rng_state_all()
    first = terra.rand(5, device="cuda").cpu().numpy()
    cuda.set_rng_state_all(state)
    assert np.array_equal(terra.rand(5, device="cuda").cpu().numpy(), first)
    assert cuda.initial_seed() == terra.initial_seed()


def test_copy_takes_non_blocking_as_pytorch_does():
    rng = np.random.default_rng(11)
    src = rng.standard_normal((3, 4))
    dst = terra.zeros(3, 4)
    assert dst.copy_(terra.from_numpy(src), non_blocking=True) is dst
    np.testing.assert_array_equal(dst.numpy(), src.astype(np.float32))


@needs_cuda
def test_cpu_tensors_meet_cuda_tensors_where_pytorch_lets_them():
    """copy_ moves its source across devices (dtype conversion and broadcasting included) and its
    gradient back; a 0-d CPU tensor goes with CUDA tensors, as a Python number does; any other CPU
    tensor beside a CUDA one is still an error."""
    rng = np.random.default_rng(12)
    host = rng.standard_normal((4, 3))
    on_device = terra.zeros(4, 3, device="cuda")
    on_device.copy_(terra.from_numpy(host))  # float64 on the CPU into float32 on the GPU
    assert on_device.device.type == "cuda"
    np.testing.assert_array_equal(on_device.cpu().numpy(), host.astype(np.float32))
    back = terra.zeros(4, 3, dtype=terra.float64)
    back.copy_(on_device, non_blocking=True)
    np.testing.assert_array_equal(back.numpy(), host.astype(np.float32).astype(np.float64))
    row = rng.standard_normal(3)
    back.copy_(terra.tensor(row, device="cuda"))  # broadcast from the GPU onto the CPU
    np.testing.assert_array_equal(back.numpy(), np.broadcast_to(row, (4, 3)))
    on_device.copy_(terra.tensor(2.5, dtype=terra.float64))  # a 0-d source: moved for copy_'s kernel
    np.testing.assert_array_equal(on_device.cpu().numpy(), np.full((4, 3), 2.5, np.float32))

    src = terra.tensor(host, requires_grad=True)
    dst = terra.zeros(4, 3, dtype=terra.float64, device="cuda")
    dst.copy_(src)
    (dst * 3.0).sum().backward()
    assert src.grad.device.type == "cpu"
    np.testing.assert_array_equal(src.grad.numpy(), np.full((4, 3), 3.0))

    scale = terra.tensor(1.5, dtype=terra.float64)  # 0-d, on the CPU
    x = terra.tensor(host, device="cuda", requires_grad=True)
    y = scale * x
    assert y.device.type == "cuda"
    loss = ((x - scale) ** 2 * scale).sum()  # pow's gradient reads its exponent as a 0-d CPU tensor
    loss.backward()
    np.testing.assert_allclose(loss.item(), (((host - 1.5) ** 2) * 1.5).sum(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.cpu().numpy(), 2 * (host - 1.5) * 1.5, rtol=1e-12)

    drawn = terra.empty(1000, device="cuda").uniform_(-2.0, 3.0).cpu().numpy()
    assert drawn.min() >= -2.0 and drawn.max() < 3.0 and len(np.unique(drawn)) > 900
    # In-place draws happen on the tensor's device, from the one generator every device shares.
    for fill in (lambda t: t.normal_(1.0, 2.0), lambda t: t.uniform_(), lambda t: t.exponential_()):
        terra.manual_seed(7)
        on_gpu = fill(terra.empty(257, device="cuda")).cpu().numpy()
        terra.manual_seed(7)
        np.testing.assert_allclose(on_gpu, fill(terra.empty(257)).numpy(), rtol=1e-6, atol=1e-7)

    with pytest.raises(RuntimeError, match="add: Expected all tensors to be on the same device.*cuda:0 and cpu"):
        x + terra.ones(3, dtype=terra.float64)
