"""FLOPs per training point in closed form (:mod:`richneuron.analysis.flops`), checked against
PyTorch's own count of the matrix products and against hand-worked small networks."""

import pytest

from richneuron.analysis import flops as flops_mod
from richneuron.analysis.flops import (
    BACKWARD_FACTOR,
    COSTS,
    Flops,
    flops,
    matrix_products,
)
from richneuron.architectures import BOOK_ARCHS
from richneuron.config import DEFAULT_BUDGET
from richneuron.neurons.flops import counted_matrix_flops
from richneuron.neurons.matching import match_width
from richneuron.tasks import get_task

ABLATIONS = ("singlu_ln", "v7_value")


def test_book_archs_and_ablations_are_the_ones_counted():
    """The parametrization below covers the book's 24 architectures and the two ablations."""
    assert len(BOOK_ARCHS) == 24
    assert not set(ABLATIONS) & set(BOOK_ARCHS)


@pytest.mark.parametrize("arch", BOOK_ARCHS + ABLATIONS)
def test_closed_form_matrix_flops_equal_flop_counter(arch):
    """The closed form's matrix FLOPs equal FlopCounterMode's, on nested_2d and digits at 5,000."""
    for task in ("nested_2d", "digits"):
        t = get_task(task)
        widths, _ = match_width(arch, task, DEFAULT_BUDGET)
        closed = flops(arch, t.in_dim, t.out_dim, widths)
        assert closed.matrix == counted_matrix_flops(arch, t.in_dim, t.out_dim, widths), task


def test_vanilla_hand_count():
    """Vanilla 2 -> 3 -> 4 -> 1: every term of the count worked out by hand."""
    f = flops("vanilla", 2, 1, (3, 4))
    forward = 2 * (2 * 3 + 3 * 4 + 4 * 1)
    # the first layer needs only its weights' gradient; the others the inputs' gradient too
    backward = 2 * (2 * 3) + 4 * (3 * 4) + 4 * (4 * 1)
    element = (2 * 3) + (2 * 4) + 1  # bias and relu per unit; the read-out's bias
    assert (f.matrix_forward, f.matrix_backward, f.elementwise_forward) == (
        forward, backward, element
    )
    assert f == Flops(forward, backward, element)
    assert f.matrix == forward + backward
    assert f.elementwise_backward == 2 * element
    assert f.total == forward + backward + 3 * element == 165


def test_vanilla_matrix_products():
    """Vanilla's products in order, the data's layer without an input gradient."""
    assert matrix_products("vanilla", 2, 1, (3, 4)) == [
        (2, 3, False, True), (3, 4, True, True), (4, 1, True, True)
    ]


def test_fourier_features_random_map_has_no_backward_cost():
    """Fourier features' fixed random map of the data needs no gradient of either operand."""
    products = matrix_products("fourier_features", 2, 1, (3, 4))
    assert products == [
        (2, 3, False, False),  # the fixed random map
        (2 * 3, 3, False, True),  # cos and sin of it, projected
        (3, 4, True, True),
        (4, 1, True, True),
    ]
    f = flops("fourier_features", 2, 1, (3, 4))
    assert f.matrix_forward == 2 * (2 * 3 + 6 * 3 + 3 * 4 + 4 * 1)
    assert f.matrix_backward == 2 * (6 * 3) + 4 * (3 * 4) + 4 * (4 * 1)


def test_kan_elementwise_cost_grows_with_input_width():
    """KAN's spline bases are per input: digits' 64 inputs cost more than nested_2d's 2."""
    wide, narrow = get_task("digits").in_dim, get_task("nested_2d").in_dim
    assert (wide, narrow) == (64, 2)
    many = flops("kan", wide, 1, (5, 5)).elementwise_forward
    few = flops("kan", narrow, 1, (5, 5)).elementwise_forward
    intervals = 5 + 2 * 3  # grid 5, cubic
    per_input = 3 * intervals + 7 * ((intervals - 1) + (intervals - 2) + (intervals - 3))
    per_input += COSTS["silu"]
    assert per_input == 227
    assert many - few == (wide - narrow) * per_input
    assert few == (narrow * per_input + 5) + (5 * per_input + 5) + 1


def test_vanilla_elementwise_cost_does_not_depend_on_input_width():
    """A neuron's element-wise cost is per unit: vanilla's is the same on 64 inputs as on 2."""
    assert (
        flops("vanilla", 64, 1, (5, 5)).elementwise_forward
        == flops("vanilla", 2, 1, (5, 5)).elementwise_forward
        == 2 * 5 + 2 * 5 + 1
    )


def test_unknown_architecture_raises_naming_it():
    """An architecture without a count is a ValueError that names it."""
    with pytest.raises(ValueError, match="arch: no FLOP count for 'nope'"):
        flops("nope", 2, 1, (3, 4))


def test_conventions_are_the_ones_the_module_states():
    """Costs per element as the docstring lists them: a sine as a tanh, backward twice forward."""
    assert COSTS == {
        "op": 1, "sigmoid": 4, "silu": 5, "tanh": 6, "gelu": 14, "sin": 6, "softplus": 4
    }
    assert COSTS["sin"] == COSTS["tanh"]
    assert COSTS["softplus"] == COSTS["sigmoid"]
    assert BACKWARD_FACTOR == 2
    doc = flops_mod.__doc__
    assert "a sine or cosine 6 (as a" in doc and "tanh: our choice" in doc
    assert "backward pass of these costs twice their forward" in doc
    assert Flops(10, 20, 7).elementwise_backward == 14


def test_siren_counts_its_sine_as_a_tanh():
    """SIREN 2 -> 3 -> 4 -> 1: a bias, omega0 times and a sine (6 FLOPs) per unit."""
    per_unit = 1 + 1 + COSTS["sin"]
    assert flops("siren", 2, 1, (3, 4)).elementwise_forward == per_unit * (3 + 4) + 1 == 57


def test_work_on_the_data_alone_has_no_backward_cost():
    """KAN's first-layer spline bases and SiLU act on the data: forward only. On 64 inputs its
    first layer's input work (64 x 227 FLOPs) is counted once, not three times."""
    two_layers = flops("kan", 64, 10, (7, 7))
    assert two_layers.data_only == 64 * 227
    assert two_layers.elementwise_backward == 2 * (two_layers.elementwise_forward - 64 * 227)
    ff = flops("fourier_features", 2, 1, (3, 4))
    assert ff.data_only == 3 * (1 + 2 * 6)  # scale, cos and sin of the first layer's 3 units
    assert flops("vanilla", 2, 1, (3, 4)).data_only == 0
