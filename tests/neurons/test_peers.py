"""The related neurons against their authors' code, or a widely used implementation, where one
installs (requirements-peers.lock, installed by ``make test``): the same weights in both, the
same outputs; where the parameterisations differ, the part they share. A package that is not
installed skips its test and says why.

No package installs for the others, so they are checked against their closed forms in
tests/neurons/test_neurons.py only: PolyNorm (PolyCom publishes no package; liger-kernel's needs
Triton and a GPU), Fourier features (Tancik et al. publish JAX notebooks), the GLU family
(Shazeer 2020 publishes no code) and efficient-kan (not on PyPI; KAN's bases are checked against
pykan's).
"""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from richneuron.neurons import (
    PAU_DENOMINATOR,
    PAU_NUMERATOR,
    Network,
    b_spline_bases,
    get_arch,
    kan_knots,
)


def _package_dir(name: str) -> Path:
    """Where package ``name`` is installed, without importing it (skip if it is not)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{name} is not installed (make test installs requirements-peers.lock)")
    return Path(next(iter(spec.submodule_search_locations)))


def _load_file(path: Path, name: str):
    """One module of a package by its file, without running the package's ``__init__``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _layer(arch, in_dim=3, width=6, members=1, seed=0, **kwargs):
    net = Network(get_arch(arch).layer, in_dim, 1, width, depth=2, members=members, **kwargs)
    net.reset([seed + m for m in range(members)])
    return net


def test_siren_matches_siren_pytorch():
    pytest.importorskip("einops", reason="einops (siren-pytorch's dependency) is not installed")
    siren_pytorch = pytest.importorskip(
        "siren_pytorch", reason="siren-pytorch is not installed (requirements-peers.lock)"
    )
    net = _layer("siren", in_dim=3, width=6)
    x = torch.randn(1, 20, 3)
    for i, ours in enumerate(net.layers):
        peer = siren_pytorch.Siren(ours.proj.in_dim, 6, w0=30.0, is_first=i == 0)
        with torch.no_grad():
            peer.weight.copy_(ours.proj.weight[0].T)
            peer.bias.copy_(ours.proj.bias[0, 0])
        torch.testing.assert_close(ours(x)[0], peer(x[0]), rtol=1e-5, atol=1e-5)
        # Their first-layer bound is ours, 1/n; hidden layers sqrt(6/n)/omega0 as well.
        theirs = 1 / ours.proj.in_dim if i == 0 else math.sqrt(6 / ours.proj.in_dim) / 30
        assert ours.weight_bound() == pytest.approx(theirs)
        x = ours(x)


def test_snake_matches_torch_snake():
    activations = pytest.importorskip("snake.activations", reason="torch-snake is not installed")
    net = _layer("snake", width=6)
    layer = net.layers[1]
    with torch.no_grad():
        layer.alpha.copy_(torch.rand_like(layer.alpha) + 0.5)  # off its init of 1
    h = torch.randn(1, 20, 6)
    peer = activations.Snake(6, a=1.0)
    with torch.no_grad():
        peer.a.copy_(layer.alpha[0, 0])
    torch.testing.assert_close(layer.activate(h)[0], peer(h[0]), rtol=1e-6, atol=1e-6)


def test_kan_bases_match_pykan():
    kan_dir = _package_dir("kan")
    spline = _load_file(kan_dir / "spline.py", "pykan_spline")  # needs only torch
    knots = kan_knots(torch.float64)
    x = torch.linspace(-2.5, 2.5, 201, dtype=torch.float64)[:, None].expand(-1, 2)
    grid = knots[None].expand(2, -1)
    theirs = spline.B_batch(x, grid, k=3)  # [N, in, G + k]: their grid is already extended
    ours = b_spline_bases(x, knots)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_rational_matches_rational_activations():
    rational_dir = _package_dir("rational")
    numpy_rationals = _load_file(rational_dir / "numpy" / "rationals.py", "pau_numpy")
    config = json.loads((rational_dir / "rationals_config.json").read_text())
    init = config["Rational_version_A5/4"]["leaky_relu"]
    assert PAU_NUMERATOR == tuple(init["init_w_numerator"])
    assert PAU_DENOMINATOR == tuple(init["init_w_denominator"])

    net = _layer("rational", width=6)
    layer = net.layers[0]
    with torch.no_grad():  # move the coefficients off their init, some negative
        layer.numerator.add_(torch.randn_like(layer.numerator) * 0.2)
        layer.denominator.add_(torch.randn_like(layer.denominator) * 0.5)
    h = torch.randn(1, 30, 6, dtype=torch.float32) * 2
    ours = layer.activate(h)[0].detach().double().numpy()
    theirs = numpy_rationals.Rational_version_A(
        h[0].double().numpy(),
        layer.numerator[0].flatten().detach().double().numpy(),
        layer.denominator[0].flatten().detach().double().numpy(),
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
