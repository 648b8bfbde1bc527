"""Recurrent layers: RNN (tanh/relu), LSTM, GRU and their single-step cells.

Parameter names, shapes, gate order (LSTM i,f,g,o; GRU r,z,n) and initialisation are PyTorch's,
so state dicts move between the two. The sequence layers are written for speed, since a
word-level LSTM language model is an end-to-end benchmark: per layer and direction the input
projection of every time step is one matmul (with both biases folded in where the formula
allows), and each step costs one addmm for the hidden projection plus the gate arithmetic, all
as direct registry calls (no Python-level Tensor methods in the loop). An LSTM or GRU step's gate
arithmetic is one op, fused_lstm_cell or fused_gru_cell (and one backward op), in the layers and
in the cells. A PackedSequence input runs the same per-step loops on the runs of steps that share
a batch size (_packed_recurrence.py).
"""

import functools
import math
import numbers
import warnings

import terra

from ..._C import _ops
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils._packed import PackedSequence
from ._packed_recurrence import recur_packed
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


# ---------------------------------------------------------------------------------------------
# One layer, one direction: the per-step loops. steps: the input projection of each time step,
# (N, G) each, biases folded in (see RNNBase._input_bias); state: (h,) or, for LSTM, (h, c), each
# (N, H). Each returns (list of the outputs in time order, final state). The packed path
# (_packed_recurrence.py) calls them on runs of steps with one batch size.


def _input_steps(x, w_ih, bias, T):
    """The input projection of all T steps in one matmul, split into T views of (N, G)."""
    xi = _ops.linear(x, w_ih, bias)
    xi = _ops.reshape(xi, [-1, xi.shape[-1]])
    return _ops.chunk(xi, T, 0)


def _rnn_steps(steps, state, reverse, w_hh, relu):
    T = len(steps)
    (h,) = state
    w_hh_t = _ops.transpose(w_hh, 0, 1)
    act = _ops.relu if relu else _ops.tanh
    addmm = _ops.addmm
    outs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h = act(addmm(steps[t], h, w_hh_t))
        outs[t] = h
    return outs, (h,)


def _lstm_steps(steps, state, reverse, w_hh, w_hr=None):
    """With w_hr (proj_size > 0) the hidden state is the cell's output projected: h = h_cell W_hr^T."""
    T = len(steps)
    h, c = state
    w_hh_t = _ops.transpose(w_hh, 0, 1)
    w_hr_t = None if w_hr is None else _ops.transpose(w_hr, 0, 1)
    addmm, cell, mm = _ops.addmm, _ops.fused_lstm_cell, _ops.mm
    outs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h, c = cell(addmm(steps[t], h, w_hh_t), c)
        if w_hr_t is not None:
            h = mm(h, w_hr_t)
        outs[t] = h
    return outs, (h, c)


def _gru_steps(steps, state, reverse, w_hh, b_hh):
    T = len(steps)
    (h,) = state
    linear, cell = _ops.linear, _ops.fused_gru_cell
    outs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h = cell(steps[t], linear(h, w_hh, b_hh), h)  # (1 - z) * n + z * h
        outs[t] = h
    return outs, (h,)


# ---------------------------------------------------------------------------------------------
# Sequence modules


class RNNBase(Module):
    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "dropout", "bidirectional", "proj_size"]

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or \
                isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size > 0 and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")

        if mode == "LSTM":
            gate_size = 4 * hidden_size
        elif mode == "GRU":
            gate_size = 3 * hidden_size
        elif mode in ("RNN_TANH", "RNN_RELU"):
            gate_size = hidden_size
        else:
            raise ValueError("Unrecognized RNN mode: " + mode)

        self._flat_weights_names = []
        self._all_weights = []
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                w_ih = Parameter(terra.empty((gate_size, layer_input_size), **factory_kwargs))
                w_hh = Parameter(terra.empty((gate_size, real_hidden_size), **factory_kwargs))
                b_ih = Parameter(terra.empty(gate_size, **factory_kwargs))
                b_hh = Parameter(terra.empty(gate_size, **factory_kwargs))
                layer_params = (w_ih, w_hh, b_ih, b_hh) if bias else (w_ih, w_hh)

                suffix = "_reverse" if direction == 1 else ""
                param_names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    param_names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    layer_params += (Parameter(terra.empty((proj_size, hidden_size), **factory_kwargs)),)
                    param_names += ["weight_hr_l{}{}"]
                param_names = [x.format(layer, suffix) for x in param_names]
                for name, param in zip(param_names, layer_params):
                    setattr(self, name, param)
                self._flat_weights_names.extend(param_names)
                self._all_weights.append(param_names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [self._parameters.get(name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, weight) for weight in weights] for weights in self._all_weights]

    def flatten_parameters(self):
        """Kept for PyTorch compatibility (cuDNN weight packing); nothing to do here."""

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def __setstate__(self, state):
        super().__setstate__(state)
        if "proj_size" not in self.__dict__:
            self.proj_size = 0

    # -- argument checks, with PyTorch's messages

    def _check_input(self, input, packed=False):
        expected_dim = 2 if packed else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _expected_hidden_size(self, input):
        return self._hidden_shape(input.shape[0] if self.batch_first else input.shape[1])

    def _hidden_shape(self, mini_batch, cell=False):
        """The shape of h0 (of c0 with cell=True): h has proj_size features when projecting."""
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 and not cell else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    @staticmethod
    def _check_hidden_size(hx, expected, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(expected, list(hx.shape)))

    def _prepare(self, input):
        """(input as 3-D, is_batched, batch_dim) after PyTorch's dimension check."""
        if not isinstance(input, terra.Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor or PackedSequence input, "
                            f"got {type(input).__name__}")
        if input.dim() not in (2, 3):  # RuntimeError, as PyTorch 1.13 raises (2.x: ValueError)
            raise RuntimeError(f"{type(self).__name__}: Expected input to be 2-D or 3-D but "
                               f"received {input.dim()}-D tensor")
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not is_batched:
            input = _ops.unsqueeze(input, batch_dim)
        return input, is_batched, batch_dim

    # -- the stacked, possibly bidirectional, recurrence

    def _input_bias(self, b_ih, b_hh):
        """The bias folded into the input projection: both biases, except for GRU, whose b_hh
        sits inside r * (W_hn h + b_hn)."""
        if self.mode == "GRU" or b_hh is None:
            return b_ih
        return b_hh if b_ih is None else _ops.add(b_ih, b_hh)

    def _recurrence(self, w_hh, b_hh, w_hr=None):
        """The per-step loop of one layer and direction: recur(steps, state, reverse)."""
        if self.mode == "LSTM":
            return functools.partial(_lstm_steps, w_hh=w_hh, w_hr=w_hr)
        if self.mode == "GRU":
            return functools.partial(_gru_steps, w_hh=w_hh, b_hh=b_hh)
        return functools.partial(_rnn_steps, w_hh=w_hh, relu=self.mode == "RNN_RELU")

    def _run(self, input, h0, c0, batch_sizes=None):
        """input: (T, N, I) time-major, or a PackedSequence's data (sum of lengths, I) with its
        batch_sizes as a list; h0/c0: (L*D, N, H) or None. Returns (output, hn, cn)."""
        lstm = self.mode == "LSTM"
        D = 2 if self.bidirectional else 1
        N = input.shape[1] if batch_sizes is None else batch_sizes[0]
        params = self._parameters
        zeros = h_zeros = None
        if h0 is None or (lstm and c0 is None):
            zeros = _ops.zeros([N, self.hidden_size], dtype=input.dtype, device=input.device)
            h_zeros = zeros
            if self.proj_size > 0:
                h_zeros = _ops.zeros([N, self.proj_size], dtype=input.dtype, device=input.device)
        p = self.dropout if self.training else 0.0
        h_n, c_n = [], []
        x = input
        for layer in range(self.num_layers):
            outputs = []
            for d in range(D):
                idx = layer * D + d
                w = [params[name] for name in self._all_weights[idx]]
                w_ih, w_hh = w[0], w[1]
                b_ih, b_hh = (w[2], w[3]) if self.bias else (None, None)
                w_hr = w[-1] if self.proj_size > 0 else None
                state = (h_zeros if h0 is None else _ops.select(h0, 0, idx),)
                if lstm:
                    state += (zeros if c0 is None else _ops.select(c0, 0, idx),)
                bias = self._input_bias(b_ih, b_hh)
                recur = self._recurrence(w_hh, b_hh, w_hr)
                if batch_sizes is None:
                    outs, state = recur(_input_steps(x, w_ih, bias, x.shape[0]), state, d == 1)
                    outputs.append(_ops.stack(outs, 0))
                else:
                    steps = _ops.split(_ops.linear(x, w_ih, bias), batch_sizes, 0)
                    outs, state = recur_packed(recur, steps, batch_sizes, state, d == 1)
                    outputs.append(_ops.cat(outs, 0))
                h_n.append(state[0])
                if lstm:
                    c_n.append(state[1])
            x = outputs[0] if D == 1 else _ops.cat(outputs, -1)
            if p > 0.0 and layer < self.num_layers - 1:
                x = F.dropout(x, p, True)
        hn = _ops.stack(h_n, 0)
        cn = _ops.stack(c_n, 0) if lstm else None
        return x, hn, cn

    def _forward_packed(self, input, h0, c0):
        """A PackedSequence input: (PackedSequence output, hn, cn), the states in the original
        batch order (cn None but for LSTM), after PyTorch's argument checks."""
        data, batch_sizes, sorted_indices, unsorted_indices = input
        sizes = batch_sizes.tolist()
        if sorted_indices is not None:  # initial state rows follow the sequences' original order
            h0, c0 = (s if s is None else _ops.index_select(s, 1, sorted_indices) for s in (h0, c0))
        self._check_input(data, packed=True)
        expected = self._hidden_shape(sizes[0])
        if self.mode == "LSTM" and h0 is not None:
            self._check_hidden_size(h0, expected, "Expected hidden[0] size {}, got {}")
            self._check_hidden_size(c0, self._hidden_shape(sizes[0], cell=True),
                                    "Expected hidden[1] size {}, got {}")
        elif h0 is not None:
            self._check_hidden_size(h0, expected)
        output, hn, cn = self._run(data, h0, c0, sizes)
        if unsorted_indices is not None:
            hn, cn = (s if s is None else _ops.index_select(s, 1, unsorted_indices)
                      for s in (hn, cn))
        return PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices), hn, cn

    def _forward_single_state(self, input, hx):
        """RNN and GRU: one hidden state tensor."""
        if isinstance(input, PackedSequence):
            output, hn, _ = self._forward_packed(input, hx, None)
            return output, hn
        input, is_batched, batch_dim = self._prepare(input)
        if hx is not None:
            if is_batched and hx.dim() != 3:
                raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got "
                                   f"{hx.dim()}-D tensor")
            if not is_batched:
                if hx.dim() != 2:
                    raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got "
                                       f"{hx.dim()}-D tensor")
                hx = _ops.unsqueeze(hx, 1)
        self._check_input(input)
        if hx is not None:
            self._check_hidden_size(hx, self._expected_hidden_size(input))
        x = _ops.transpose(input, 0, 1) if self.batch_first else input
        output, hn, _ = self._run(x, hx, None)
        if self.batch_first:
            output = _ops.transpose(output, 0, 1)
        if not is_batched:
            output = _ops.squeeze(output, [batch_dim])
            hn = _ops.squeeze(hn, [1])
        return output, hn


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_single_state(input, hx)


class GRU(RNNBase):
    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_single_state(input, hx)


class LSTM(RNNBase):
    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            output, hn, cn = self._forward_packed(input, *(hx if hx is not None else (None, None)))
            return output, (hn, cn)
        input, is_batched, batch_dim = self._prepare(input)
        h0 = c0 = None
        if hx is not None:
            h0, c0 = hx
            if is_batched:
                if h0.dim() != 3 or c0.dim() != 3:
                    raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but "
                                       f"got ({h0.dim()}-D, {c0.dim()}-D) tensors")
            else:
                if h0.dim() != 2 or c0.dim() != 2:
                    raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D "
                                       f"but got ({h0.dim()}-D, {c0.dim()}-D) tensors")
                h0, c0 = _ops.unsqueeze(h0, 1), _ops.unsqueeze(c0, 1)
        self._check_input(input)
        if hx is not None:
            expected = self._expected_hidden_size(input)
            self._check_hidden_size(h0, expected, "Expected hidden[0] size {}, got {}")
            mini_batch = input.shape[0] if self.batch_first else input.shape[1]
            self._check_hidden_size(c0, self._hidden_shape(mini_batch, cell=True),
                                    "Expected hidden[1] size {}, got {}")
        x = _ops.transpose(input, 0, 1) if self.batch_first else input
        output, hn, cn = self._run(x, h0, c0)
        if self.batch_first:
            output = _ops.transpose(output, 0, 1)
        if not is_batched:
            output = _ops.squeeze(output, [batch_dim])
            hn = _ops.squeeze(hn, [1])
            cn = _ops.squeeze(cn, [1])
        return output, (hn, cn)


# ---------------------------------------------------------------------------------------------
# Cells


class RNNCellBase(Module):
    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(terra.empty((num_chunks * hidden_size, input_size),
                                               **factory_kwargs))
        self.weight_hh = Parameter(terra.empty((num_chunks * hidden_size, hidden_size),
                                               **factory_kwargs))
        if bias:
            self.bias_ih = Parameter(terra.empty(num_chunks * hidden_size, **factory_kwargs))
            self.bias_hh = Parameter(terra.empty(num_chunks * hidden_size, **factory_kwargs))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input, hx, name):
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1-D or 2-D but received "
                             f"{input.dim()}-D tensor")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected hidden to be 1-D or 2-D but received "
                             f"{hx.dim()}-D tensor")
        is_batched = input.dim() == 2
        if not is_batched:
            input = _ops.unsqueeze(input, 0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        if hx is None:
            hx = _ops.zeros([input.shape[0], self.hidden_size], dtype=input.dtype,
                            device=input.device)
        elif not is_batched:
            hx = _ops.unsqueeze(hx, 0)
        return input, hx, is_batched

    def _gates(self, input, hx):
        return (_ops.linear(input, self.weight_ih, self.bias_ih),
                _ops.linear(hx, self.weight_hh, self.bias_hh))


class RNNCell(RNNCellBase):
    __constants__ = ["input_size", "hidden_size", "bias", "nonlinearity"]

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, hx, is_batched = self._prepare(input, hx, "RNNCell")
        gi, gh = self._gates(input, hx)
        if self.nonlinearity == "tanh":
            ret = _ops.tanh(_ops.add(gi, gh))
        elif self.nonlinearity == "relu":
            ret = _ops.relu(_ops.add(gi, gh))
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return ret if is_batched else _ops.squeeze(ret, [0])


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if hx is not None:
            h, c = hx
        else:
            h = c = None
        input, h, is_batched = self._prepare(input, h, "LSTMCell")
        if c is None:
            c = h
        elif not is_batched:
            c = _ops.unsqueeze(c, 0)
        gi, gh = self._gates(input, h)
        h, c = _ops.fused_lstm_cell(gi, c, gh)
        if not is_batched:
            return _ops.squeeze(h, [0]), _ops.squeeze(c, [0])
        return h, c


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, hx, is_batched = self._prepare(input, hx, "GRUCell")
        gi, gh = self._gates(input, hx)
        h = _ops.fused_gru_cell(gi, gh, hx)
        return h if is_batched else _ops.squeeze(h, [0])
