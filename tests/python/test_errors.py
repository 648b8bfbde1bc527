"""User mistakes raise the exception type PyTorch raises, with a message naming the op and shapes."""
import pytest
import torch

import terra


def raises_like_torch(fn_terra, fn_torch, match):
    """Both raise the same exception type; Terra's message matches `match`."""
    with pytest.raises(Exception) as ref:
        fn_torch()
    with pytest.raises(ref.type, match=match):
        fn_terra()


def test_linear_with_the_wrong_width():
    raises_like_torch(lambda: terra.nn.Linear(5, 2)(terra.randn(4, 3)),
                      lambda: torch.nn.Linear(5, 2)(torch.randn(4, 3)), r"(?s)linear.*4x3 and 5x2")


def test_cross_entropy_with_float_targets():
    raises_like_torch(lambda: terra.nn.functional.cross_entropy(terra.randn(4, 3), terra.rand(4)),
                      lambda: torch.nn.functional.cross_entropy(torch.randn(4, 3), torch.rand(4)),
                      r"(?s)cross_entropy.*(Long|int64).*(Float|float32)")


def test_backward_twice_without_retain_graph():
    def run(lib):
        x = lib.randn(3, requires_grad=True)
        y = (x * x).sum()
        y.backward()
        y.backward()

    raises_like_torch(lambda: run(terra), lambda: run(torch), "backward through the graph a second time")


@pytest.mark.parametrize("op", ["mul", "div"])
def test_inplace_change_of_an_operand_only_the_other_gradient_needs_is_allowed(op):
    # x[1:3] * 0.5 and x[1:3] / 2 keep nothing of x for backward (their gradient reads only the
    # number), so writing x afterwards is no error, in PyTorch or Terra.
    def run(lib):
        w = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        h = w * 3
        scaled = getattr(h[1:3], op)(2.0)
        h.index_add_(0, lib.tensor([0, 3]), scaled)
        h.sum().backward()
        return w.grad.tolist()

    assert run(terra) == run(torch)


def test_inplace_change_of_a_tensor_saved_for_backward():
    def run(lib):
        a = lib.randn(3, requires_grad=True)
        b = a * 2
        c = b * b
        b.add_(1)
        c.sum().backward()

    raises_like_torch(lambda: run(terra), lambda: run(torch), r"modified by an inplace operation.*version 1")


def test_inplace_on_a_leaf_that_requires_grad():
    def run(lib):
        lib.ones(2, requires_grad=True).add_(1)

    raises_like_torch(lambda: run(terra), lambda: run(torch), "leaf Variable that requires grad")


def test_embedding_index_out_of_range():
    raises_like_torch(lambda: terra.nn.Embedding(5, 2)(terra.tensor([1, 5])),
                      lambda: torch.nn.Embedding(5, 2)(torch.tensor([1, 5])), r"(?s)embedding.*out of range")


def test_shape_mismatch_names_both_shapes():
    raises_like_torch(lambda: terra.ones(2, 3) + terra.ones(4),
                      lambda: torch.ones(2, 3) + torch.ones(4), r"(?s)add.*\[2, 3\].*\[4\]")


def test_device_that_is_not_there():
    with pytest.raises(RuntimeError, match="cuda"):
        terra.zeros(2, device="cuda")


def test_errors_point_at_the_users_line(tmp_path):
    import subprocess
    import sys
    import os
    script = tmp_path / "bad.py"
    script.write_text("import terra\nx = terra.ones(2, 3)\ny = x @ x\n")
    env = dict(os.environ)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert out.returncode == 1
    assert 'bad.py", line 3' in out.stderr and "RuntimeError" in out.stderr and "matmul" in out.stderr


@pytest.mark.parametrize("make", [
    lambda L: L.zeros(2 ** 32, 2 ** 32),
    lambda L: L.empty(2 ** 62, 2),
    lambda L: L.randn(2 ** 33, 2 ** 31),
    lambda L: L.ones(1, 8).expand(2 ** 40, 2 ** 40, 8),
    lambda L: L.ones(1).expand(2 ** 62, 4),
    lambda L: L.ones(3).view(2 ** 62, 4),
], ids=["zeros", "empty", "randn", "expand", "expand_to_2_64", "view"])
def test_shapes_whose_element_count_overflows_are_refused_not_wrapped_to_zero(make):
    with pytest.raises(RuntimeError):
        make(torch)
    with pytest.raises(RuntimeError, match="overflow"):
        make(terra)


def test_storage_bytes_past_int64_are_refused():
    with pytest.raises(RuntimeError, match="Storage size calculation overflowed"):
        terra.empty(2 ** 61, 2)


@pytest.mark.parametrize("change, message", [
    (lambda g: g.sum(0), "has changed the size of value"),
    (lambda g: g.double(), "has changed the type of value"),
])
def test_a_tensor_hook_that_changes_the_gradients_shape_or_dtype_is_refused(change, message):
    import numpy as np
    start = np.random.default_rng(5).standard_normal((2, 3)).astype(np.float32)
    for lib in (torch, terra):
        w = lib.tensor(start, requires_grad=True)
        w.register_hook(change)
        with pytest.raises(RuntimeError, match=f"hook '<lambda>' {message}"):
            (w * 2).sum().backward()
        assert w.grad is None


@pytest.mark.parametrize("draw", [
    lambda L: L.normal(0.0, -1.0, (3,)),
    lambda L: L.normal(L.zeros(2), -1.0),
    lambda L: L.empty(3).normal_(0, -1),
], ids=["floats", "tensor_mean", "in_place"])
def test_a_negative_standard_deviation_is_refused(draw):
    raises_like_torch(lambda: draw(terra), lambda: draw(torch), "normal expects std >= 0.0")


def test_pointwise_loss_with_sizes_that_do_not_broadcast_names_the_dimension():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raises_like_torch(lambda: terra.nn.functional.mse_loss(terra.ones(16, 4), terra.ones(15, 4)),
                          lambda: torch.nn.functional.mse_loss(torch.ones(16, 4), torch.ones(15, 4)),
                          r"size of tensor a \(16\) must match the size of tensor b \(15\) at non-singleton dimension 0$")


@pytest.mark.parametrize("lib", [torch, terra], ids=["torch", "terra"])
def test_reading_the_grad_of_a_non_leaf_warns_unless_it_retains_it(lib):
    x = lib.ones(3, requires_grad=True)
    hidden, kept = x * 2, x * 3
    kept.retain_grad()
    (hidden.sum() + kept.sum()).backward()
    with pytest.warns(UserWarning, match="The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"):
        assert hidden.grad is None
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kept.grad is not None and x.grad is not None


@pytest.mark.parametrize("lib", [torch, terra], ids=["torch", "terra"])
def test_copy_constructing_a_tensor_from_a_tensor_warns_and_copies(lib):
    source = lib.tensor([1.5, -2.0, 3.25])
    with pytest.warns(UserWarning, match=r"To copy construct from a tensor, it is recommended to use sourceTensor"):
        copy = lib.tensor(source)
    copy.add_(1)
    assert source.tolist() == [1.5, -2.0, 3.25] and copy.tolist() == [2.5, -1.0, 4.25]
