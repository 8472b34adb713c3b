"""The fixed-rounding product: one set of bits from every kernel, near float64, its gradient."""

import pytest
import torch

from richneuron.arithmetic import products

SHAPES = [  # (members, I, K, J): narrow, small, tails of every tile, the trainer's sizes
    (3, 500, 2, 45),
    (3, 2, 500, 45),
    (3, 45, 500, 45),
    (3, 500, 45, 1),
    (3, 45, 500, 1),
    (3, 500, 1, 45),
    (4, 7, 9, 13),
    (2, 1, 5, 1),
    (3, 500, 68, 68),
    (2, 13, 17, 33),
    (2, 6, 3, 16),
    (2, 5, 4, 17),
    (2, 3, 0, 4),
]


def _operands(m, i, k, j, transpose_a, transpose_b, gen):
    a = torch.randn(m, k, i, generator=gen).transpose(1, 2) if transpose_a else torch.randn(
        m, i, k, generator=gen
    )
    b = torch.randn(m, j, k, generator=gen).transpose(1, 2) if transpose_b else torch.randn(
        m, k, j, generator=gen
    )
    return a, b


@pytest.mark.parametrize("shape", SHAPES)
def test_kernels_give_the_same_bits(shape):
    """AVX-512 (where present), AVX2 and the scalar std::fma loop agree bit for bit, whatever
    the operands' strides, and the result is float64's product rounded to within float32."""
    gen = torch.Generator().manual_seed(0)
    for ta in (False, True):
        for tb in (False, True):
            a, b = _operands(*shape, ta, tb, gen)
            best = products.bmm(a, b)
            assert torch.equal(best, products.bmm_avx2(a, b))
            assert torch.equal(best, products.bmm_scalar(a, b))
            assert torch.equal(best, products.bmm(a.contiguous(), b.contiguous()))
            exact = torch.bmm(a.double(), b.double())
            tol = 1e-6 * (a.abs().double() @ b.abs().double()).clamp_min(1) * max(shape[2], 1)
            assert ((best.double() - exact).abs() <= tol).all()


def test_member_bits_do_not_depend_on_the_batch():
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(4, 50, 30, generator=gen), torch.randn(4, 30, 20, generator=gen)
    whole = products.bmm(a, b)
    assert torch.equal(whole[2:3], products.bmm(a[2:3], b[2:3]))


def test_gradient_matches_torch():
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(2, 40, 9, generator=gen, requires_grad=True)
    b = torch.randn(2, 9, 12, generator=gen, requires_grad=True)
    (products.bmm(a, b).sin().sum()).backward()
    a2, b2 = a.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    torch.bmm(a2, b2).sin().sum().backward()
    torch.testing.assert_close(a.grad, a2.grad, rtol=1e-4, atol=1e-5)  # float32 rounding
    torch.testing.assert_close(b.grad, b2.grad, rtol=1e-4, atol=1e-5)


def test_compiled_calls_the_operator():
    """torch.compile differentiates through it (torch.autograd.grad traced) with equal bits."""
    gen = torch.Generator().manual_seed(3)
    a, b = torch.randn(2, 30, 5, generator=gen), torch.randn(2, 5, 7, generator=gen)

    def grads(a, b):
        a, b = a.detach().requires_grad_(), b.detach().requires_grad_()
        with torch.enable_grad():
            out = products.bmm(a, b).square().sum()
            return torch.autograd.grad(out, (a, b))

    products.load()
    compiled = torch._dynamo.config.patch(trace_autograd_ops=True)(
        torch.compile(grads, fullgraph=True)
    )
    for got, want in zip(compiled(a, b), grads(a, b)):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


def test_bad_operands_are_refused():
    with pytest.raises(RuntimeError, match="shapes do not match"):
        products.bmm(torch.ones(2, 3, 4), torch.ones(2, 5, 6))
    with pytest.raises(RuntimeError, match="float32"):
        products.bmm(torch.ones(2, 3, 4).double(), torch.ones(2, 4, 6).double())
    with pytest.raises(RuntimeError, match="3-d"):
        products.bmm(torch.ones(3, 4), torch.ones(4, 6))
