"""Every neuron against a plain re-statement of its equation, member by member."""

import math

import pytest
import torch

from richneuron.neurons import ARCHITECTURES, Network, get_arch, parse_archs

OMEGA, RANK = 1.7, 3


def branches(layer, m):
    """The named pre-activations of member ``m``'s projection, as plain ``x @ W + b`` pieces."""
    w, b = layer.proj.weight[m], layer.proj.bias
    width = w.shape[1] // len(layer.proj.branches)
    out = {}
    for i, name in enumerate(layer.proj.branches):
        cols = slice(i * width, (i + 1) * width)
        out[name] = (w[:, cols], None if b is None else b[m, 0, cols])
    return out


def lin(x, wb):
    w, b = wb
    return x @ w if b is None else x @ w + b


def ln(h, scale, shift):
    mu = h.mean(-1, keepdim=True)
    var = ((h - mu) ** 2).mean(-1, keepdim=True)
    return (h - mu) / torch.sqrt(var + 1e-5) * scale + shift


def restate(arch, layer, x, m):
    """The published equation of ``arch`` (with the readings in the docstrings), plainly."""
    p = branches(layer, m)
    w = OMEGA
    if arch == "vanilla":
        return torch.relu(lin(x, p["out"]))
    if arch in ("singlu", "v4_glu"):
        return torch.sin(w * lin(x, p["gate"])) * lin(x, p["value"])
    if arch == "v1":
        h1, h2 = lin(x, p["linear"]), lin(x, p["periodic"])
        return ln(h1 * torch.sin(w * h2) + h1, layer.ln_scale[m, 0], layer.ln_shift[m, 0])
    if arch == "v4_shared":
        h = lin(x, p["linear"])
        return ln(
            h * torch.sin(w * h + layer.sine_bias[m, 0]) + h,
            layer.ln_scale[m, 0],
            layer.ln_shift[m, 0],
        )
    if arch == "v4_lowrank":
        a = layer.proj.weight[m]
        a1, a2 = a[:, :RANK], a[:, RANK:]
        h1 = x @ a1 @ layer.up_linear.weight[m] + layer.up_linear.bias[m, 0]
        h2 = x @ a2 @ layer.up_periodic.weight[m] + layer.up_periodic.bias[m, 0]
        return ln(h1 * torch.sin(w * h2) + h1, layer.ln_scale[m, 0], layer.ln_shift[m, 0])
    if arch == "v6":
        a = torch.sigmoid(lin(x, p["route"]))
        return a * torch.sin(w * lin(x, p["gate"])) + (1 - a) * lin(x, p["value"])
    if arch == "v7":
        freq = w * torch.log1p(torch.exp(lin(x, p["freq"]))) / math.log(2)
        return torch.sin(freq * lin(x, p["gate"]))
    if arch == "v8":
        return torch.sigmoid(lin(x, p["amplitude"])) * torch.sin(
            w * lin(x, p["gate"]) + lin(x, p["phase"])
        )
    if arch == "v9":
        a = torch.sigmoid(lin(x, p["route"]))
        freq = w * (1 + 0.5 * torch.tanh(lin(x, p["freq"])))
        phase = math.pi * torch.tanh(lin(x, p["phase"]))
        return a * torch.sin(freq * lin(x, p["gate"]) + phase) + (1 - a) * lin(x, p["value"])
    g, v, phi = lin(x, p["gate"]), lin(x, p["value"]), lin(x, p["phase"])
    if arch == "v10":
        return torch.sin(w * g + math.pi * torch.tanh(phi)) * v
    if arch == "v11":
        return torch.sin(w * (g + 0.1 * torch.tanh(phi))) * v
    if arch == "v12":
        return torch.sin(w * g * (1 + 0.2 * torch.tanh(phi))) * v
    if arch == "v13":
        return torch.sin(w * g + 0.1 * g * torch.tanh(phi)) * v
    if arch == "v15":
        al, be, ga = layer.alpha[m, 0], layer.beta[m, 0], layer.gamma[m, 0]
        return torch.sin(w * g + be * phi) * (1 + al * torch.sin(2 * w * g + ga * phi)) * v
    raise AssertionError(f"no re-statement for {arch}")


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_layer_matches_its_equation(arch):
    torch.manual_seed(0)
    members, n, d_in, width = 3, 17, 5, 7
    layer = get_arch(arch).layer(members, d_in, width, OMEGA, RANK)
    net = Network(
        get_arch(arch).layer, d_in, 2, width, depth=1, members=members, omega=OMEGA, rank=RANK
    )
    net.reset([11, 12, 13])
    layer = net.layers[0]
    with torch.no_grad():  # move learned vectors off their init so they are really tested
        for name in layer.vectors:
            getattr(layer, name).add_(torch.randn_like(getattr(layer, name)) * 0.3)
    x = torch.randn(members, n, d_in)
    got = layer(x)
    assert got.shape == (members, n, width)
    for m in range(members):
        torch.testing.assert_close(got[m], restate(arch, layer, x[m], m), rtol=1e-5, atol=1e-6)


def test_network_readout_and_member_independence():
    net = Network(get_arch("v10").layer, 3, 2, 6, depth=2, members=4)
    net.reset([0, 1, 2, 3])
    x = torch.randn(4, 9, 3)
    y = net(x)
    assert y.shape == (4, 9, 2)
    alone = Network(get_arch("v10").layer, 3, 2, 6, depth=2, members=1)
    alone.reset([2])
    torch.testing.assert_close(alone(x[2:3])[0], y[2], rtol=1e-6, atol=1e-6)


def test_init_depends_only_on_seed():
    a = Network(get_arch("singlu").layer, 2, 1, 5, members=3)
    a.reset([7, 8, 9])
    b = Network(get_arch("singlu").layer, 2, 1, 5, members=1)
    b.reset([9])
    for (_, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(pa[2], pb[0])
    assert not torch.equal(a.layers[0].proj.weight[0], a.layers[0].proj.weight[1])


def test_init_is_pytorch_linear_default():
    net = Network(get_arch("vanilla").layer, 4, 1, 300, members=1)
    net.reset([0])
    w = net.layers[1].proj.weight
    bound = 1 / math.sqrt(300)
    assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound


def test_internals_per_architecture():
    expected = {
        "v6": {"alpha_mean", "alpha_std"},
        "v7": {"omega_mean", "omega_std"},
        "v8": {"gate_mean", "phase_abs"},
        "v11": {"phase_abs", "phase_signal_corr"},
        "v13": {"phase_abs", "phase_signal_corr"},
        "v15": {"alpha", "beta", "gamma"},
        "vanilla": set(),
    }
    for arch, keys in expected.items():
        net = Network(get_arch(arch).layer, 2, 1, 8, members=2)
        net.reset([0, 1])
        stats = net.internals(torch.randn(2, 50, 2))
        assert set(stats) == keys
        assert all(v.shape == (2,) for v in stats.values())
    net = Network(get_arch("v15").layer, 2, 1, 8, members=2)
    net.reset([0, 1])
    stats = net.internals(torch.randn(2, 5, 2))
    assert torch.allclose(stats["alpha"], torch.tensor([0.5, 0.5]))


def test_v7_frequency_equals_omega_at_zero():
    layer = get_arch("v7").layer(1, 2, 4, 2.5, RANK)
    assert torch.allclose(layer.frequency(torch.zeros(3)), torch.full((3,), 2.5))


def test_registry_and_parsing():
    assert len(ARCHITECTURES) == 15
    assert get_arch("v4_glu").canonical == "singlu"
    assert get_arch("v10").canonical == "v10"
    assert parse_archs("v10, singlu") == ("v10", "singlu")
    assert parse_archs("all") == tuple(ARCHITECTURES)
    with pytest.raises(ValueError, match="unknown architecture 'v99'.*vanilla"):
        parse_archs("v10,v99")
    with pytest.raises(ValueError, match="duplicate"):
        parse_archs("v10,v10")
    with pytest.raises(ValueError, match="empty"):
        parse_archs("")
    for spec in ARCHITECTURES.values():
        assert spec.layer.__doc__ and spec.equation and spec.chapter.startswith("v")
