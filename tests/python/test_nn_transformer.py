"""terra.nn attention and transformer layers against PyTorch 1.13: MultiheadAttention in its
configurations (self/cross attention, kdim/vdim, bias_kv, zero_attn, masks, batch_first,
weights averaged or per head, unbatched), the encoder/decoder layers and stacks, Transformer,
parameter names and state_dict order."""
import numpy as np
import pytest
import torch

import terra
import terra.nn as nn
from nn_parity import DTYPES, check_module, phases, rand
from parity import to_numpy

E, HEADS, L, S, N = 8, 2, 4, 5, 3


def _bool_mask(rng, *shape):
    """Random True = masked entries, never a whole row (which would give NaN rows)."""
    m = rng.uniform(size=shape) < 0.3
    m[..., 0] = False
    return m


# (id, constructor kwargs, forward kwargs, query/key/value layout)
MHA_CASES = [
    ("self", {}, {}, "self"),
    ("cross", {}, {}, "cross"),
    ("key_is_value", {}, {}, "kv"),
    ("batch_first_self", {"batch_first": True}, {}, "self"),
    ("batch_first_cross", {"batch_first": True}, {}, "cross"),
    ("kdim_vdim", {"kdim": 6, "vdim": 3}, {}, "cross"),
    ("no_bias", {"bias": False}, {}, "cross"),
    ("bias_kv_zero_attn", {"add_bias_kv": True, "add_zero_attn": True}, {}, "cross"),
    ("per_head_weights", {}, {"average_attn_weights": False}, "cross"),
    ("no_weights", {}, {"need_weights": False}, "self"),
    ("key_padding_mask", {}, {"key_padding_mask": "kpm"}, "cross"),
    ("attn_mask_bool", {}, {"attn_mask": "bool2d"}, "cross"),
    ("attn_mask_float", {}, {"attn_mask": "float2d"}, "cross"),
    ("attn_mask_3d_and_kpm", {"add_bias_kv": True},
     {"attn_mask": "bool3d", "key_padding_mask": "kpm"}, "cross"),
    ("float_mask_kpm_batch_first", {"batch_first": True},
     {"attn_mask": "float2d", "key_padding_mask": "kpm"}, "cross"),
]


def _mha_inputs(layout, batch_first, dtype, kdim=E, vdim=E, batched=True):
    rng = np.random.default_rng(0)

    def seq(length, dim):
        if not batched:
            return rand(rng, length, dim, dtype=dtype)
        return rand(rng, N, length, dim, dtype=dtype) if batch_first else \
            rand(rng, length, N, dim, dtype=dtype)

    if layout == "self":
        return [seq(L, E)]
    if layout == "kv":
        return [seq(L, E), seq(S, kdim)]
    return [seq(L, E), seq(S, kdim), seq(S, vdim)]


def _masks(fkw, dtype, src_len):
    rng = np.random.default_rng(1)
    out = {}
    for key, kind in fkw.items():
        if kind == "kpm":
            out[key] = _bool_mask(rng, N, src_len)
        elif kind == "bool2d":
            out[key] = _bool_mask(rng, L, src_len)
        elif kind == "bool3d":
            out[key] = _bool_mask(rng, N * HEADS, L, src_len)
        elif kind == "float2d":
            out[key] = rand(rng, L, src_len, dtype=dtype)
        else:
            out[key] = kind
    return out


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_multihead_attention(case, dtype, grad):
    _, ckw, fkw, layout = case
    inputs = _mha_inputs(layout, ckw.get("batch_first", False), dtype, ckw.get("kdim", E),
                         ckw.get("vdim", E))
    masks = _masks(fkw, dtype, S if layout != "self" else L)
    names = [k for k, v in masks.items() if isinstance(v, np.ndarray)]
    n_seq = len(inputs)
    inputs += [masks[k] for k in names]
    plain = {k: v for k, v in masks.items() if k not in names}

    def call(m, *xs):
        seqs, ms = xs[:n_seq], dict(zip(names, xs[n_seq:]))
        if n_seq == 1:
            q = k = v = seqs[0]
        elif n_seq == 2:
            q, k = seqs
            v = k
        else:
            q, k, v = seqs
        return m(q, k, v, **ms, **plain)

    check_module(lambda: torch.nn.MultiheadAttention(E, HEADS, dropout=0.1, **ckw),
                 lambda: nn.MultiheadAttention(E, HEADS, dropout=0.1, **ckw), inputs, dtype,
                 grad=grad, call=call, grad_inputs=list(range(n_seq)))


@phases()
def test_multihead_attention_unbatched(grad):
    dtype = "float64"
    q, k = _mha_inputs("kv", False, dtype, batched=False)
    kpm = np.zeros(S, dtype=bool)
    kpm[3] = True
    check_module(lambda: torch.nn.MultiheadAttention(E, HEADS),
                 lambda: nn.MultiheadAttention(E, HEADS), [q, k, kpm], dtype, grad=grad,
                 call=lambda m, q, k, kpm: m(q, k, k, key_padding_mask=kpm), grad_inputs=[0, 1])


def test_multihead_attention_parameters():
    for kw in [{}, {"kdim": 6, "vdim": 3}, {"add_bias_kv": True, "bias": False}]:
        t, x = torch.nn.MultiheadAttention(E, HEADS, **kw), nn.MultiheadAttention(E, HEADS, **kw)
        assert [(n, tuple(p.shape)) for n, p in x.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in t.named_parameters()]
        assert list(x.state_dict()) == list(t.state_dict())
        assert repr(x) == repr(t)
    x = nn.MultiheadAttention(E, HEADS)
    assert not to_numpy(x.in_proj_bias).any() and not to_numpy(x.out_proj.bias).any()
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(E, 3)


ENC_CASES = [
    ("post_norm", {}, {}),
    ("pre_norm_gelu", {"norm_first": True, "activation": "gelu"}, {}),
    ("batch_first_masks", {"batch_first": True}, {"src_mask": "float_causal",
                                                   "src_key_padding_mask": "kpm"}),
    ("callable_activation", {"activation": torch.nn.functional.silu}, {"src_mask": "bool"}),
]


def _enc_layer(lib, ckw):
    ckw = dict(ckw)
    if ckw.get("activation") is torch.nn.functional.silu:
        ckw["activation"] = lib.nn.functional.silu
    return lib.nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=16, dropout=0.1, **ckw)


def _seq_mask(kind, length, rng, dtype):
    if kind == "float_causal":
        return np.triu(np.full((length, length), -np.inf), 1).astype(dtype)
    if kind == "bool":
        return _bool_mask(rng, length, length)
    if kind == "kpm":
        return _bool_mask(rng, N, length)
    raise ValueError(kind)


def _run_with_masks(inputs, fkw, dtype, rng, lengths):
    """Appends the masks to `inputs`; returns call(module, *xs) passing them by keyword."""
    names = list(fkw)
    n = len(inputs)
    for name in names:
        inputs.append(_seq_mask(fkw[name], lengths[name], rng, dtype))

    def call(m, *xs):
        return m(*xs[:n], **dict(zip(names, xs[n:])))
    return call


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ENC_CASES, ids=[c[0] for c in ENC_CASES])
def test_encoder_layer_and_stack(case, dtype, grad):
    _, ckw, fkw = case
    rng = np.random.default_rng(0)
    bf = ckw.get("batch_first", False)
    x = rand(rng, N, L, E, dtype=dtype) if bf else rand(rng, L, N, E, dtype=dtype)
    inputs = [x]
    call = _run_with_masks(inputs, fkw, dtype, rng, {k: L for k in fkw})
    check_module(lambda: _enc_layer(torch, ckw), lambda: _enc_layer(terra, ckw), inputs, dtype,
                 grad=grad, call=call, grad_inputs=[0])
    stack_kw = {("mask" if k == "src_mask" else k): v for k, v in fkw.items()}
    inputs = [x]
    call = _run_with_masks(inputs, stack_kw, dtype, np.random.default_rng(0), {k: L for k in stack_kw})
    check_module(lambda: torch.nn.TransformerEncoder(_enc_layer(torch, ckw), 2,
                                                     norm=torch.nn.LayerNorm(E)),
                 lambda: nn.TransformerEncoder(_enc_layer(terra, ckw), 2, norm=nn.LayerNorm(E)),
                 inputs, dtype, grad=grad, call=call, grad_inputs=[0])


DEC_CASES = [
    ("post_norm", {}, {"tgt_mask": "float_causal"}),
    ("pre_norm_masks", {"norm_first": True}, {"tgt_mask": "bool", "tgt_key_padding_mask": "kpm",
                                              "memory_key_padding_mask": "kpm_mem"}),
    ("batch_first_gelu", {"batch_first": True, "activation": "gelu"}, {}),
]


def _dec_inputs(ckw, fkw, dtype):
    rng = np.random.default_rng(0)
    bf = ckw.get("batch_first", False)
    tgt = rand(rng, N, L, E, dtype=dtype) if bf else rand(rng, L, N, E, dtype=dtype)
    mem = rand(rng, N, S, E, dtype=dtype) if bf else rand(rng, S, N, E, dtype=dtype)
    inputs = [tgt, mem]
    names = list(fkw)
    for name in names:
        kind = fkw[name]
        inputs.append(_bool_mask(rng, N, S) if kind == "kpm_mem" else
                      _seq_mask(kind, L, rng, dtype))

    def call(m, *xs):
        return m(xs[0], xs[1], **dict(zip(names, xs[2:])))
    return inputs, call


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DEC_CASES, ids=[c[0] for c in DEC_CASES])
def test_decoder_layer_and_stack(case, dtype, grad):
    _, ckw, fkw = case
    inputs, call = _dec_inputs(ckw, fkw, dtype)
    check_module(lambda: torch.nn.TransformerDecoderLayer(E, HEADS, 16, **ckw),
                 lambda: nn.TransformerDecoderLayer(E, HEADS, 16, **ckw), inputs, dtype,
                 grad=grad, call=call, grad_inputs=[0, 1])
    inputs, call = _dec_inputs(ckw, fkw, dtype)
    check_module(lambda: torch.nn.TransformerDecoder(
                     torch.nn.TransformerDecoderLayer(E, HEADS, 16, **ckw), 2),
                 lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(E, HEADS, 16, **ckw), 2),
                 inputs, dtype, grad=grad, call=call, grad_inputs=[0, 1])


@phases()
@pytest.mark.parametrize("dtype", DTYPES)
def test_transformer(dtype, grad):
    rng = np.random.default_rng(0)
    src, tgt = rand(rng, S, N, E, dtype=dtype), rand(rng, L, N, E, dtype=dtype)
    tgt_mask = np.triu(np.full((L, L), -np.inf), 1).astype(dtype)
    kw = dict(d_model=E, nhead=HEADS, num_encoder_layers=2, num_decoder_layers=1,
              dim_feedforward=16)
    check_module(lambda: torch.nn.Transformer(**kw), lambda: nn.Transformer(**kw),
                 [src, tgt, tgt_mask], dtype, grad=grad, grad_inputs=[0, 1],
                 call=lambda m, s, t, mask: m(s, t, tgt_mask=mask))


def test_transformer_structure():
    kw = dict(d_model=E, nhead=HEADS, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=16)
    t, x = torch.nn.Transformer(**kw), nn.Transformer(**kw)
    assert list(x.state_dict()) == list(t.state_dict())
    assert repr(x) == repr(t)
    # The clones are independent copies.
    layers = x.encoder.layers
    assert layers[0].linear1.weight is not layers[1].linear1.weight
    for sz in [1, 4]:
        np.testing.assert_array_equal(to_numpy(nn.Transformer.generate_square_subsequent_mask(sz)),
                                      to_numpy(torch.nn.Transformer.generate_square_subsequent_mask(sz)))
    with pytest.raises(RuntimeError):
        x(terra.zeros(S, N, E), terra.zeros(L, N + 1, E))
    with pytest.raises(RuntimeError):
        nn.TransformerEncoderLayer(E, HEADS, activation="tanh")


def test_encoder_dropout_train_mode():
    terra.manual_seed(0)
    layer = nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.5)
    x = terra.tensor(rand(np.random.default_rng(0), L, N, E))
    a = to_numpy(layer(x))
    layer.eval()
    b = to_numpy(layer(x))
    np.testing.assert_array_equal(to_numpy(layer(x)), b)
    assert not np.allclose(a, b)


# ---- Note [Encoder nested fast path] ---------------------------------------------------------------

@pytest.mark.parametrize("case", ["bool", "float", "not_left_aligned", "no_mask_check", "with_mask", "grad",
                                  "train", "norm_first", "odd_heads", "seq_first"])
def test_encoder_eval_nested_fast_path_matches_torch(case):
    import warnings
    rng = np.random.default_rng(3)
    x = rand(rng, 3, 5, 8)
    kpm = np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 1, 1, 1]], dtype=bool)
    if case in ("not_left_aligned", "no_mask_check"):
        kpm[1, 1] = True

    def run(lib):
        nhead = 1 if case == "odd_heads" else 2
        layer = lib.nn.TransformerEncoderLayer(8, nhead, 16, dropout=0.0, batch_first=case != "seq_first",
                                               norm_first=case == "norm_first")
        enc = lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(8), mask_check=case != "no_mask_check")
        return enc
    t_enc, x_enc = run(torch), run(terra)
    x_enc.load_state_dict({k: terra.tensor(to_numpy(v).copy()) for k, v in t_enc.state_dict().items()})
    outs = []
    for lib, enc in ((torch, t_enc), (terra, x_enc)):
        if case != "train":
            enc.eval()
        mask = lib.tensor(kpm)
        if case == "float":
            mask = lib.zeros(3, 5).masked_fill(mask, float("-inf"))
        kwargs = {"src_key_padding_mask": mask}
        if case == "with_mask":
            kwargs["mask"] = lib.zeros(5, 5)
        src = lib.tensor(x)
        if case == "seq_first":
            src = src.transpose(0, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if case == "grad":
                out = enc(src, **kwargs)
            else:
                with lib.no_grad():
                    out = enc(src, **kwargs)
        outs.append(to_numpy(out))
    want, got = outs
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    if case in ("bool", "float", "no_mask_check"):
        assert got.shape[1] == 4 if case != "no_mask_check" else got.shape[1] == 3
