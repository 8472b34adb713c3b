"""Every neuron against a plain re-statement of its equation, member by member."""

import math

import pytest
import torch

from richneuron.config import TrainConfig
from richneuron.neurons import ARCHITECTURES, Network, get_arch

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
    if arch == "v7_value":
        freq = w * torch.log1p(torch.exp(lin(x, p["freq"]))) / math.log(2)
        return torch.sin(freq * lin(x, p["gate"])) * lin(x, p["value"])
    if arch == "singlu_ln":
        y = torch.sin(w * lin(x, p["gate"])) * lin(x, p["value"])
        return ln(y, layer.ln_scale[m, 0], layer.ln_shift[m, 0])
    if arch == "v8":
        return torch.sigmoid(lin(x, p["amplitude"])) * torch.sin(
            w * lin(x, p["gate"]) + lin(x, p["phase"])
        )
    if arch == "v9":
        a = torch.sigmoid(lin(x, p["route"]))
        freq = w * (1 + 0.5 * torch.tanh(lin(x, p["freq"])))
        phase = math.pi * torch.tanh(lin(x, p["phase"]))
        return a * torch.sin(freq * lin(x, p["gate"]) + phase) + (1 - a) * lin(x, p["value"])
    if arch in ("v10", "v11", "v12", "v13", "v15"):
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
    if arch == "siren":
        return torch.sin(30.0 * lin(x, p["out"]))
    if arch == "snake":
        h, a = lin(x, p["out"]), layer.alpha[m, 0]
        return h + torch.sin(a * h) ** 2 / a
    if arch == "fourier_features":
        z = 2 * math.pi * w * x @ layer.freqs[m]
        feats = torch.cat([torch.cos(z), torch.sin(z)], dim=-1)
        return torch.relu(feats @ layer.proj.weight[m] + layer.proj.bias[m, 0])
    if arch == "kan":
        return kan_edges(layer, x, m)
    if arch in ("bilinear", "reglu", "geglu", "swiglu"):
        g, v = lin(x, p["gate"]), lin(x, p["value"])
        gate = {
            "bilinear": g,
            "reglu": torch.clamp(g, min=0),
            "geglu": 0.5 * g * (1 + torch.erf(g / math.sqrt(2))),
            "swiglu": g / (1 + torch.exp(-g)),
        }[arch]
        return gate * v
    if arch == "rational":
        h = lin(x, p["out"])
        a, b = layer.numerator[m].flatten(), layer.denominator[m].flatten()
        num = sum(a[j] * h**j for j in range(6))
        den = 1 + sum(b[k - 1].abs() * h.abs() ** k for k in range(1, 5))
        return num / den
    if arch == "polynorm":
        h = lin(x, p["out"])
        wts, c = layer.poly_weight[m].flatten(), layer.poly_bias[m].flatten()

        def norm(u):
            return u / torch.sqrt((u**2).mean(-1, keepdim=True) + 1e-6)

        return wts[0] * norm(h**3) + wts[1] * norm(h**2) + wts[2] * norm(h) + c
    raise AssertionError(f"no re-statement for {arch}")


def cubic_bspline(t, knots, i):
    """The i-th cubic B-spline on ``knots`` at scalar ``t``, by its recursive definition."""

    def b(j, k):
        if k == 0:
            return float(knots[j] <= t < knots[j + 1])
        left = (t - knots[j]) / (knots[j + k] - knots[j]) * b(j, k - 1)
        right = (knots[j + k + 1] - t) / (knots[j + k + 1] - knots[j + 1]) * b(j + 1, k - 1)
        return left + right

    return b(i, 3)


def kan_edges(layer, x, m):
    """KAN: each output sums, over inputs, a SiLU base term and a scaled B-spline curve."""
    knots = [-1 + 0.4 * j for j in range(-3, 9)]
    w = layer.proj.weight[m]  # [in, out]
    c = layer.spline_weight[m].reshape(x.shape[1], 8, -1) * layer.spline_scaler[m][:, None]
    out = torch.zeros(x.shape[0], w.shape[1])
    for n in range(x.shape[0]):
        for i in range(x.shape[1]):
            t = float(x[n, i])
            bases = torch.tensor([cubic_bspline(t, knots, k) for k in range(8)])
            out[n] += w[i] * t / (1 + math.exp(-t)) + bases @ c[i]
    return out


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
        for name, p in layer.named_parameters(recurse=False):  # per-layer coefficients too
            if name not in layer.vectors:
                p.add_(torch.randn_like(p) * 0.05)
    x = torch.randn(members, n, d_in)
    got = layer(x)
    assert got.shape == (members, n, width)
    for m in range(members):
        # Fourier features take sines of arguments up to ~30 rad, where float32's rounding of
        # the argument alone is ~2e-6.
        atol = 1e-5 if arch == "fourier_features" else 1e-6
        torch.testing.assert_close(got[m], restate(arch, layer, x[m], m), rtol=1e-5, atol=atol)


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


def test_siren_init_is_the_authors():
    net = Network(get_arch("siren").layer, 3, 1, 200, depth=2, members=2)
    net.reset([0, 1])
    first, hidden = net.layers[0].proj, net.layers[1].proj
    assert type(net.layers[0]).__name__ == "SirenFirst"
    assert 0.95 / 3 < first.weight.abs().max() <= 1 / 3  # U(-1/n, 1/n), n = 3
    bound = math.sqrt(6 / 200) / 30
    assert 0.95 * bound < hidden.weight.abs().max() <= bound
    b = 1 / math.sqrt(200)  # biases keep nn.Linear's default
    assert 0.9 * b < hidden.bias.abs().max() <= b


def test_fourier_matrix_is_a_fixed_gaussian_buffer():
    net = Network(get_arch("fourier_features").layer, 2, 1, 64, depth=2, members=2)
    net.reset([0, 1])
    freqs = net.layers[0].freqs
    assert "layers.0.freqs" in dict(net.named_buffers())
    assert not any(p is freqs for p in net.parameters())
    assert abs(float(freqs.std()) - 1) < 0.1 and abs(float(freqs.mean())) < 0.1
    assert not torch.equal(freqs[0], freqs[1])  # drawn from each run's seed
    assert type(net.layers[1]).__name__ == "Vanilla"
    wider = Network(get_arch("fourier_features").layer, 2, 1, 64, depth=2, members=1,
                    omega=3.0)
    wider.reset([1])  # sigma (omega) scales B x, it does not change the draw
    assert torch.equal(wider.layers[0].freqs[0], freqs[1])


@pytest.mark.parametrize("grid", [5, 3, 12])
def test_kan_init_map_is_efficient_kans_least_squares(grid):
    from richneuron.neurons import b_spline_bases, kan_init_map, kan_knots

    knots = kan_knots(torch.float64, grid)
    assert len(knots) == grid + 2 * 3 + 1
    points = torch.linspace(-1, 1, grid + 1, dtype=torch.float64)
    a = b_spline_bases(points, knots)  # [G+1, G+k]
    values = torch.randn(grid + 1, 5, dtype=torch.float64)
    lstsq = torch.linalg.lstsq(a, values, driver="gelsd").solution  # minimum norm
    ours = torch.tensor(kan_init_map(grid), dtype=torch.float64) @ values
    torch.testing.assert_close(ours, lstsq, rtol=1e-10, atol=1e-12)
    # The bases form a partition of unity inside the grid.
    inside = b_spline_bases(torch.linspace(-0.99, 0.99, 50, dtype=torch.float64), knots)
    torch.testing.assert_close(inside.sum(-1), torch.ones(50, dtype=torch.float64))


def test_kan_spline_init_is_small_noise():
    net = Network(get_arch("kan").layer, 2, 1, 16, depth=2, members=2)
    net.reset([0, 1])
    layer = net.layers[1]
    assert 0 < layer.spline_weight.abs().max() < 0.05
    bound = 1 / math.sqrt(16)
    assert 0.9 * bound < layer.spline_scaler.abs().max() <= bound
    assert 0.9 * bound < layer.proj.weight.abs().max() <= bound and layer.proj.bias is None


def test_rational_starts_as_leaky_relu():
    from richneuron.neurons import SHAPE_POINTS

    net = Network(get_arch("rational").layer, 2, 1, 8, members=2)
    net.reset([0, 1])
    layer = net.layers[0]
    t = torch.linspace(-3, 3, 61).expand(2, 1, -1)
    y = layer.rational(t, layer.numerator, layer.denominator)
    leaky = torch.nn.functional.leaky_relu(t, 0.01)
    assert (y - leaky).abs().max() < 0.05
    stats = net.internals(torch.randn(2, 5, 2))
    shape = torch.stack([stats[f"first_shape_{i}"] for i in range(len(SHAPE_POINTS))], -1)
    expected = torch.nn.functional.leaky_relu(torch.tensor(SHAPE_POINTS), 0.01)
    assert (shape - expected).abs().max() < 0.05


def test_polynorm_init_and_scale_invariance():
    net = Network(get_arch("polynorm").layer, 2, 1, 8, members=1)
    net.reset([0])
    layer = net.layers[0]
    assert torch.allclose(layer.poly_weight, torch.full_like(layer.poly_weight, 1 / 3))
    h = torch.randn(1, 5, 8)
    # every power is normalised over the layer: scaling h by c > 0 leaves y unchanged
    torch.testing.assert_close(layer.activate(h), layer.activate(3 * h), rtol=1e-4, atol=1e-5)


def test_related_internals():
    expected = {
        "snake": {"alpha_mean", "alpha_std"},
        "bilinear": {"gate_range"},
        "polynorm": {"w_cubic", "w_square", "w_linear"},
        "kan": {"out_of_grid"} | {f"first_shape_{i}" for i in range(9)},
        "siren": set(),
    }
    for arch, keys in expected.items():
        net = Network(get_arch(arch).layer, 2, 1, 8, members=2)
        net.reset([0, 1])
        stats = net.internals(torch.randn(2, 50, 2) * 2)
        assert set(stats) == keys
        assert all(v.shape == (2,) for v in stats.values())
    net = Network(get_arch("kan").layer, 2, 1, 8, members=1)
    net.reset([0])
    x = torch.tensor([[[0.5, 0.5], [2.0, 0.0]]])  # one of four inputs outside [-1, 1]
    stats = net.layers[0].internals(x)
    assert float(stats["out_of_grid"][0]) == 0.25


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_every_parameter_and_buffer_is_per_member_3d(arch):
    """The trainer's per-member settings (lr, Adam's constants) are [M, 1, 1]: they broadcast
    member by member only over [M, rows, cols] tensors."""
    net = Network(get_arch(arch).layer, 2, 1, 5, members=3)
    for name, p in net.named_parameters():
        assert p.dim() == 3 and p.shape[0] == 3, f"{arch}: {name} {tuple(p.shape)}"
    for name, b in net.named_buffers():
        assert b.dim() == 1 or (b.dim() == 3 and b.shape[0] == 3), f"{arch}: {name}"


def test_kans_grid_is_a_setting_of_the_protocol():
    from richneuron.neurons import KAN, kan_layer, layer_of
    from richneuron.neurons.matching import count_params, match_width

    assert layer_of("kan") is KAN and layer_of("kan", 5) is KAN and layer_of("vanilla", 8) is (
        get_arch("vanilla").layer
    )
    fine = layer_of("kan", 8)
    assert fine is kan_layer(8) and fine.__name__ == "KAN8" and issubclass(fine, KAN)
    net = Network(fine, 2, 1, 4, depth=1, members=2)
    net.reset([0, 1])
    assert net.layers[0].spline_weight.shape == (2, 2 * (8 + 3), 4)
    assert net(torch.rand(2, 7, 2) * 2 - 1).shape == (2, 7, 1)
    # more coefficients per edge: the same budget buys a narrower network
    assert count_params("kan", 2, 1, (8, 8), 2, 8, 8) > count_params("kan", 2, 1, (8, 8), 2, 8)
    coarse, _ = match_width("kan", "spiral", 5000, TrainConfig())
    narrow, _ = match_width("kan", "spiral", 5000, TrainConfig(kan_grid=12))
    assert narrow[0] < coarse[0]
    assert "kan_grid" not in TrainConfig().to_dict()  # stored keys stay as they were
    assert TrainConfig(kan_grid=8).to_dict()["kan_grid"] == 8
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="invalid kan_grid"):
            TrainConfig(kan_grid=bad)
        with pytest.raises(ValueError, match="invalid kan_grid"):
            kan_layer(bad)


#: Layer classes that are frames for others (or a first layer), not architectures of their own.
