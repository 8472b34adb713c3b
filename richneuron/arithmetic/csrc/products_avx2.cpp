// richneuron::bmm's vector kernel with AVX2: 8 lanes (see kernel.h).
#include <immintrin.h>

namespace richneuron::avx2 {
struct V {
  using vec = __m256;
  using mask = __m256i;
  static constexpr int rows = 6, vecs = 2;  // the main tile: rows x vectors of C
  static constexpr int lanes = 8;
  static vec zero() { return _mm256_setzero_ps(); }
  static mask first(int n) {  // the first n lanes
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static vec load(const float* p) { return _mm256_loadu_ps(p); }
  static vec load(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, vec v) { _mm256_storeu_ps(p, v); }
  static void store(float* p, vec v, mask m) { _mm256_maskstore_ps(p, m, v); }
  static vec broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
};
}  // namespace richneuron::avx2

#define KERNEL_NAMESPACE avx2
#include "kernel.h"

void richneuron::gemm_avx2(const Problem& p) { avx2::gemm(p); }
