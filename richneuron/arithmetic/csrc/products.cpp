// Batched matrix products with fixed rounding (richneuron.products; Method chapter, "Pinned
// arithmetic").
//
// C[b, i, j] is one fused multiply-add chain over k = 0, 1, ..., K-1, started from 0:
//     acc = fma(A[b, i, k], B[b, k, j], acc)
// Each element's rounding is therefore fixed by the operands alone: it does not depend on the
// CPU (vendor, model, cache sizes), on vector width, tiling or threads, or on the operands'
// strides. The vector kernels (kernel.h: AVX-512 over 16 columns where the CPU has it, else
// AVX2 over 8) and the scalar loop (std::fma) give the same bits; the test suite checks this.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "problem.h"

namespace {

using richneuron::Problem;

// Which kernel computes the products (the same bits, by construction and by test).
enum class Kernel { best, avx2, scalar };

bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

// Few columns (J < 8): vectors would be mostly empty; eight rows' chains side by side instead.
void gemm_narrow(const Problem& p) {
  for (int64_t j = 0; j < p.J; ++j) {
    const float* b = p.b + j * p.b_j;
    for (int64_t i0 = 0; i0 < p.I; i0 += 8) {
      const int rows = static_cast<int>(std::min<int64_t>(8, p.I - i0));
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      const float* a[8];
      for (int r = 0; r < 8; ++r) a[r] = p.a + (i0 + std::min(r, rows - 1)) * p.a_i;
      for (int64_t k = 0, at = 0, bt = 0; k < p.K; ++k, at += p.a_k, bt += p.b_k) {
        const float bk = b[bt];
        for (int r = 0; r < 8; ++r) acc[r] = std::fma(a[r][at], bk, acc[r]);
      }
      for (int r = 0; r < 8; ++r)
        if (r < rows) p.c[(i0 + r) * p.J + j] = acc[r];
    }
  }
}

void gemm_scalar(const Problem& p) {
  for (int64_t i = 0; i < p.I; ++i)
    for (int64_t j = 0; j < p.J; ++j) {
      float acc = 0.0f;
      for (int64_t k = 0; k < p.K; ++k)
        acc = std::fma(p.a[i * p.a_i + k * p.a_k], p.b[k * p.b_k + j * p.b_j], acc);
      p.c[i * p.J + j] = acc;
    }
}

at::Tensor run(const at::Tensor& a, const at::Tensor& b, Kernel kernel) {
  TORCH_CHECK(a.dim() == 3 && b.dim() == 3, "richneuron::bmm: operands must be 3-d, got ",
              a.dim(), "-d and ", b.dim(), "-d");
  TORCH_CHECK(a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat,
              "richneuron::bmm: operands must be float32");
  TORCH_CHECK(a.device().is_cpu() && b.device().is_cpu(), "richneuron::bmm: CPU tensors only");
  TORCH_CHECK(a.size(0) == b.size(0) && a.size(2) == b.size(1),
              "richneuron::bmm: shapes do not match: ", a.sizes(), " @ ", b.sizes());
  const int64_t M = a.size(0), I = a.size(1), K = a.size(2), J = b.size(2);
  // Every element is written below, except for K = 0: the empty sum, zeros.
  at::Tensor c = K == 0 ? at::zeros({M, I, J}, a.options()) : at::empty({M, I, J}, a.options());
  const float* pa = a.const_data_ptr<float>();
  const float* pb = b.const_data_ptr<float>();
  float* pc = c.mutable_data_ptr<float>();
  for (int64_t m = 0; m < M; ++m) {
    const Problem p{I, J, K,
                    pa + m * a.stride(0), a.stride(1), a.stride(2),
                    pb + m * b.stride(0), b.stride(1), b.stride(2),
                    pc + m * I * J};
    if (I == 0 || J == 0) continue;
    if (kernel == Kernel::scalar) {
      gemm_scalar(p);
    } else if (J < 8) {
      gemm_narrow(p);
    } else if (kernel == Kernel::best && has_avx512()) {
      richneuron::gemm_avx512(p);
    } else {
      richneuron::gemm_avx2(p);
    }
  }
  return c;
}

at::Tensor bmm(const at::Tensor& a, const at::Tensor& b) { return run(a, b, Kernel::best); }
at::Tensor bmm_avx2(const at::Tensor& a, const at::Tensor& b) { return run(a, b, Kernel::avx2); }
at::Tensor bmm_scalar(const at::Tensor& a, const at::Tensor& b) {
  return run(a, b, Kernel::scalar);
}

// Through the dispatcher, so that tracing (torch.compile) records richneuron::bmm itself.
at::Tensor call_bmm(const at::Tensor& a, const at::Tensor& b) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("richneuron::bmm", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  return op.call(a, b);
}

// The gradient: two more products with the same fixed rounding. It is registered in C++ for
// the Autograd key, as PyTorch's own operators are, so that compiled code calling the product
// does not pass through Python; loss.backward(), torch.autograd.grad and torch.compile
// (AOTAutograd) differentiate through it (torch.func's transforms do not take C++ functions).
class Product : public torch::autograd::Function<Product> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a,
                            const at::Tensor& b) {
    ctx->save_for_backward({a, b});
    at::AutoDispatchBelowADInplaceOrView guard;
    return call_bmm(a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& grad = grads[0];
    at::Tensor grad_a, grad_b;
    if (ctx->needs_input_grad(0)) grad_a = call_bmm(grad, saved[1].transpose(1, 2));
    if (ctx->needs_input_grad(1)) grad_b = call_bmm(saved[0].transpose(1, 2), grad);
    return {grad_a, grad_b};
  }
};

at::Tensor bmm_autograd(const at::Tensor& a, const at::Tensor& b) {
  return Product::apply(a, b);
}

}  // namespace

TORCH_LIBRARY(richneuron, m) {
  m.def("bmm(Tensor a, Tensor b) -> Tensor");
  m.def("bmm_avx2(Tensor a, Tensor b) -> Tensor");
  m.def("bmm_scalar(Tensor a, Tensor b) -> Tensor");
}

TORCH_LIBRARY_IMPL(richneuron, CPU, m) {
  m.impl("bmm", &bmm);
  m.impl("bmm_avx2", &bmm_avx2);
  m.impl("bmm_scalar", &bmm_scalar);
}

TORCH_LIBRARY_IMPL(richneuron, Autograd, m) { m.impl("bmm", &bmm_autograd); }
