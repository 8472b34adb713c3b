// One matrix product of richneuron::bmm (see products.cpp), shared by its kernels.
#pragma once

#include <cstdint>

namespace richneuron {

// C = A B: A is I x K and B is K x J with any strides; C is I x J, row-major.
struct Problem {
  int64_t I, J, K;
  const float* a;
  int64_t a_i, a_k;
  const float* b;
  int64_t b_k, b_j;
  float* c;
};

// The vector kernels: the same bits as each other and as the scalar loop, at other speeds.
void gemm_avx2(const Problem& p);
void gemm_avx512(const Problem& p);

}  // namespace richneuron
