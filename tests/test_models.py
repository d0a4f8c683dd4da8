"""Tests of labcode.models: SimpleMLP, the model table, parameter counts."""

import pytest
import torch
from torch import nn

from labcode.models import MODELS, SimpleMLP, build_model, count_parameters

import numerics


def test_simple_mlp_maps_a_batch_to_one_logit_per_class():
    model = SimpleMLP()
    out = model(torch.rand(5, 64))
    assert out.shape == (5, 10)
    assert out.dtype == torch.float32


def test_simple_mlp_computes_linear_relu_linear():
    torch.manual_seed(0)
    model = SimpleMLP(in_features=6, hidden_size=4, num_classes=3)
    x = torch.randn(7, 6)
    W1, b1 = model.fc1.weight, model.fc1.bias
    W2, b2 = model.fc2.weight, model.fc2.bias
    expected = torch.clamp(x @ W1.T + b1, min=0.0) @ W2.T + b2
    # float32, fused (addmm) against written out: dot products of 6 and 4 terms, a bias
    # added to each, on terms of order one (standard normal inputs, weights below 1)
    torch.testing.assert_close(model(x), expected, **numerics.close(torch.float32, 6 + 4 + 2))
    # logits, not probabilities: no softmax at the end
    assert not torch.allclose(model(x).sum(dim=1), torch.ones(7))


def test_parameter_count_is_weights_plus_biases():
    assert count_parameters(SimpleMLP()) == (64 + 1) * 32 + (32 + 1) * 10 == 2410
    assert count_parameters(SimpleMLP(in_features=3, hidden_size=5, num_classes=2)) == 4 * 5 + 6 * 2
    model = SimpleMLP()
    model.fc1.requires_grad_(False)
    assert count_parameters(model) == 330
    assert count_parameters(model, trainable_only=False) == 2410


def test_repr_shows_the_layers_and_the_sizes():
    text = repr(SimpleMLP(hidden_size=16))
    assert text.startswith("SimpleMLP(")
    assert "hidden_size=16" in text and "parameters=1210" in text
    assert "Linear(in_features=64, out_features=16, bias=True)" in text
    assert "ReLU()" in text
    assert "Linear(in_features=16, out_features=10, bias=True)" in text


def test_docstring_names_the_handouts_class():
    assert "simpleMLP" in SimpleMLP.__doc__


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"hidden_size": 0}, ValueError, "hidden_size must be an int >= 1, got 0"),
        ({"in_features": -3}, ValueError, "in_features must be an int >= 1, got -3"),
        ({"num_classes": 0}, ValueError, "num_classes must be an int >= 1, got 0"),
        ({"hidden_size": 2.5}, TypeError, "hidden_size must be an int >= 1, got float 2.5"),
        ({"hidden_size": "32"}, TypeError, "got str '32'"),
        ({"hidden_size": True}, TypeError, "got bool True"),
    ],
)
def test_bad_sizes_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        SimpleMLP(**kwargs)


def test_model_table_builds_fresh_models_by_name():
    assert "simple" in MODELS
    a = build_model("simple", hidden_size=8)
    b = build_model("simple", hidden_size=8)
    assert isinstance(a, SimpleMLP) and a.hidden_size == 8
    assert a is not b
    assert a.training  # a fresh model starts in training mode


def test_unknown_model_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown model 'huge'; valid names are \[.*'simple'"):
        build_model("huge")


def test_count_parameters_refuses_non_modules():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        count_parameters([nn.Parameter(torch.zeros(3))])


# --- ComplexMLP (Step 10) ---------------------------------------------------------------

from labcode.models import COMPLEX_WIDTH_FACTORS, ComplexMLP  # noqa: E402


def test_complex_mlp_maps_a_batch_to_one_logit_per_class():
    model = ComplexMLP()
    assert model.hidden_sizes == (128, 64) and model.dropout == 0.2
    assert model(torch.rand(5, 64)).shape == (5, 10)
    model.eval()
    assert model(torch.rand(1, 64)).shape == (1, 10)
    assert ComplexMLP(in_features=6, hidden_sizes=(4,), num_classes=3)(torch.rand(2, 6)).shape == (2, 3)


def test_complex_mlp_parameter_count_by_hand():
    # Linear (d + 1) * h1, BatchNorm 2 * h1 (scale and shift), then the same for h2,
    # and the output layer (h2 + 1) * K
    expected = (64 + 1) * 128 + 2 * 128 + (128 + 1) * 64 + 2 * 64 + (64 + 1) * 10
    assert count_parameters(ComplexMLP()) == expected == 17610
    assert count_parameters(ComplexMLP(in_features=3, hidden_sizes=(5, 4, 2), num_classes=2)) == (
        4 * 5 + 10 + 6 * 4 + 8 + 5 * 2 + 4 + 3 * 2
    )


def test_each_hidden_block_is_linear_batchnorm_relu_dropout_in_that_order():
    model = ComplexMLP(hidden_sizes=(128, 64), dropout=0.3)
    assert len(model.blocks) == 2
    for block, (n_in, n_out) in zip(model.blocks, [(64, 128), (128, 64)]):
        kinds = [type(layer) for layer in block]
        assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout]
        assert (block[0].in_features, block[0].out_features) == (n_in, n_out)
        assert block[1].num_features == n_out
        assert block[3].p == 0.3
    assert (model.out.in_features, model.out.out_features) == (64, 10)


def test_complex_mlp_computes_its_blocks_by_hand_in_eval_mode():
    torch.manual_seed(0)
    model = ComplexMLP(in_features=6, hidden_sizes=(5,), num_classes=3).eval()
    lin, bn = model.blocks[0][0], model.blocks[0][1]
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(5))
        bn.running_var.copy_(torch.rand(5) + 0.5)
        bn.weight.copy_(torch.randn(5))
        bn.bias.copy_(torch.randn(5))
    x = torch.randn(4, 6)
    a = x @ lin.weight.T + lin.bias
    a_hat = (a - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    expected = torch.clamp(a_hat, min=0.0) @ model.out.weight.T + model.out.bias
    # float32: a dot product of 6, BatchNorm's 5 element-wise operations, one of 5; terms
    # of the size of the normalised values
    torch.testing.assert_close(model(x), expected, **numerics.close(
        torch.float32, 6 + 5 + 5 + 2, scale=a_hat.abs().max().item()))


def test_eval_mode_is_deterministic_and_train_mode_is_not():
    torch.manual_seed(0)
    model = ComplexMLP()
    x = torch.rand(32, 64)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
        # in eval mode a sample's output does not depend on the rest of the batch, up to
        # the order of float32 sums a batch of 3 and of 32 are computed in: dot products of
        # 64, 128 and 64 terms, BatchNorm's 4 operations twice, on terms of the logits' size
        full = model(x)
        torch.testing.assert_close(model(x[:3]), full[:3], **numerics.close(
            torch.float32, 64 + 128 + 64 + 8, scale=full.abs().max().item()))
    model.train()
    with torch.no_grad():
        assert not torch.equal(model(x), model(x))  # a new dropout mask at every pass


def test_dropout_zeroes_units_and_rescales_the_others_in_train_mode_only():
    torch.manual_seed(0)
    model = ComplexMLP(hidden_sizes=(256,), dropout=0.5)
    seen = {}
    model.blocks[0][3].register_forward_hook(lambda m, i, o: seen.update(inp=i[0], out=o))
    x = torch.rand(64, 64)
    model.train()
    with torch.no_grad():
        model(x)
    inp, out = seen["inp"], seen["out"]
    kept = out != 0
    assert torch.equal(out[kept], 2 * inp[kept])  # scaled by 1 / (1 - p) = 2: exact
    share_dropped = float(((out == 0) & (inp != 0)).sum() / (inp != 0).sum())
    assert 0.45 < share_dropped < 0.55
    model.eval()
    with torch.no_grad():
        model(x)
    assert torch.equal(seen["out"], seen["inp"])  # the identity in eval mode


def test_batchnorm_uses_batch_statistics_in_train_mode_and_running_ones_in_eval():
    torch.manual_seed(0)
    model = ComplexMLP(hidden_sizes=(8,), dropout=0.0)
    bn = model.blocks[0][1]
    seen = {}
    bn.register_forward_hook(lambda m, i, o: seen.update(out=o))
    x = 3 * torch.rand(50, 64) + 1
    model.train()
    with torch.no_grad():
        model(x)
    # train mode: each unit normalised by the batch (gamma = 1, beta = 0 at the start):
    # mean 0 and variance var / (var + eps), up to float32 sums over the 50 rows (the
    # batch's mean and variance, then the output's), on terms of the outputs' size
    out = seen["out"]
    a = model.blocks[0][0](x).double()
    var = a.var(0, unbiased=False)
    tolerance = numerics.close(torch.float32, 50 + 50 + 50 + 4, scale=out.abs().max().item())
    torch.testing.assert_close(out.mean(0), torch.zeros(8), **tolerance)
    torch.testing.assert_close(out.double().var(0, unbiased=False), var / (var + bn.eps),
                               **tolerance)
    assert not torch.allclose(bn.running_mean, torch.zeros(8))  # the running averages moved
    model.eval()
    with torch.no_grad():
        a = model.blocks[0][0](x)
        model(x)
    expected = (a - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
    # float32: BatchNorm's 4 element-wise operations, fused or not, on the outputs' scale
    torch.testing.assert_close(seen["out"], expected, **numerics.close(
        torch.float32, 4, scale=expected.abs().max().item()))
    assert seen["out"].mean(0).abs().max() > 0.1  # not the batch statistics


def test_complex_entry_of_the_model_table_scales_with_hidden_size():
    model = build_model("complex")
    assert isinstance(model, ComplexMLP)
    assert model.hidden_sizes == (128, 64) == tuple(f * 32 for f in COMPLEX_WIDTH_FACTORS)
    assert build_model("complex", hidden_size=8).hidden_sizes == (32, 16)
    from labcode.experiment import TrainConfig

    assert TrainConfig(model="complex").model == "complex"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"hidden_sizes": ()}, ValueError, r"hidden_sizes must have at least one hidden layer, got \(\)"),
        ({"hidden_sizes": (128, 0)}, ValueError, r"hidden_sizes\[1\] must be an int >= 1, got 0"),
        ({"hidden_sizes": 128}, TypeError, "hidden_sizes must be a sequence of ints >= 1, got int 128"),
        ({"hidden_sizes": "128"}, TypeError, "got str '128'"),
        ({"hidden_sizes": (1.5,)}, TypeError, r"hidden_sizes\[0\] must be an int >= 1, got float 1.5"),
        ({"dropout": 1.0}, ValueError, r"dropout must be a finite number in \[0, 1\), got 1.0"),
        ({"dropout": -0.1}, ValueError, r"dropout must be a finite number in \[0, 1\), got -0.1"),
        ({"dropout": "0.2"}, TypeError, "dropout must be a finite number in \\[0, 1\\), got str '0.2'"),
        ({"in_features": 0}, ValueError, "in_features must be an int >= 1, got 0"),
        ({"num_classes": True}, TypeError, "num_classes must be an int >= 1, got bool True"),
    ],
)
def test_complex_mlp_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ComplexMLP(**kwargs)


def test_complex_repr_names_the_sizes():
    text = repr(ComplexMLP())
    assert "hidden_sizes=(128, 64)" in text and "dropout=0.2" in text and "parameters=17610" in text


def test_batchnorm_models_are_the_entries_with_batchnorm():
    from torch import nn

    from labcode.models import BATCHNORM_MODELS
    with_batchnorm = {name for name, build in MODELS.items()
                      if any(isinstance(m, nn.BatchNorm1d) for m in build().modules())}
    assert BATCHNORM_MODELS == with_batchnorm == {"complex", "complex_no_dropout"}
