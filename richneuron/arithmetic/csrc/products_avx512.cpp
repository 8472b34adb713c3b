// richneuron::bmm's vector kernel with AVX-512: 16 lanes (see kernel.h). Used only where the
// CPU has AVX-512F (products.cpp checks); the rest of the extension is built for AVX2.
#pragma GCC target("avx512f")
#include <immintrin.h>

namespace richneuron::avx512 {
struct V {
  using vec = __m512;
  using mask = __mmask16;
  static constexpr int rows = 12, vecs = 2;  // the main tile: rows x vectors of C
  static constexpr int lanes = 16;
  static vec zero() { return _mm512_setzero_ps(); }
  static mask first(int n) {  // the first n lanes (none for n <= 0, all for n >= 16)
    return n <= 0 ? 0 : n >= 16 ? 0xFFFF : static_cast<mask>((1u << n) - 1u);
  }
  static vec load(const float* p) { return _mm512_loadu_ps(p); }
  static vec load(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, vec v) { _mm512_storeu_ps(p, v); }
  static void store(float* p, vec v, mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static vec broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
};
}  // namespace richneuron::avx512

#define KERNEL_NAMESPACE avx512
#include "kernel.h"

void richneuron::gemm_avx512(const Problem& p) { avx512::gemm(p); }
