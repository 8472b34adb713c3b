// The vector kernel of richneuron::bmm, written once for a vector type V (8 lanes of AVX2 in
// products_avx2.cpp, 16 of AVX-512 in products_avx512.cpp). Every lane of every accumulator
// is one element's chain acc = fma(a_ik, b_kj, acc) in increasing k, so the lane count, the
// tiling and the packing below change the speed, never the bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "problem.h"

namespace richneuron {
namespace KERNEL_NAMESPACE {

// Rows i0 .. i0 + rows - 1 and columns j0 .. j0 + cols - 1 of C, for rows <= MR and
// cols <= L NV; b holds B's columns j0 .. contiguously, its rows at stride ldb. PARTIAL tiles
// load and store through a lane mask, so they read and write nothing past column j0 + cols.
template <int MR, int NV, bool PARTIAL>
__attribute__((always_inline)) inline void tile(const Problem& p, int64_t i0, int rows,
                                                int64_t j0, int cols, const float* b,
                                                int64_t ldb) {
  constexpr int L = V::lanes;
  typename V::mask mask[NV];
  if constexpr (PARTIAL) {
    for (int v = 0; v < NV; ++v) mask[v] = V::first(cols - L * v);
  }
  typename V::vec acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  // Rows past `rows` repeat the last valid row; they are computed and not stored.
  const float* a[MR];
  for (int r = 0; r < MR; ++r) a[r] = p.a + (i0 + std::min(r, rows - 1)) * p.a_i;
  const int64_t a_k = p.a_k, end = p.K * a_k;
  for (int64_t at = 0; at != end; at += a_k) {
    typename V::vec bv[NV];
    for (int v = 0; v < NV; ++v)
      bv[v] = PARTIAL ? V::load(b + L * v, mask[v]) : V::load(b + L * v);
    b += ldb;
    for (int r = 0; r < MR; ++r) {
      const typename V::vec av = V::broadcast(a[r] + at);
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(av, bv[v], acc[r][v]);
    }
  }
  // A loop over the constant MR (not `rows`) keeps the accumulators in registers.
  for (int r = 0; r < MR; ++r) {
    if (r >= rows) break;
    float* c = p.c + (i0 + r) * p.J + j0;
    for (int v = 0; v < NV; ++v) {
      if constexpr (PARTIAL) {
        V::store(c + L * v, acc[r][v], mask[v]);
      } else {
        V::store(c + L * v, acc[r][v]);
      }
    }
  }
}

// Column strips of L NV, each swept over all row blocks of MR (the strip of B stays in cache).
template <int MR, int NV>
void sweep(const Problem& p, const float* b, int64_t ldb) {
  constexpr int W = V::lanes * NV;
  for (int64_t j0 = 0; j0 < p.J; j0 += W) {
    const int cols = static_cast<int>(std::min<int64_t>(W, p.J - j0));
    for (int64_t i0 = 0; i0 < p.I; i0 += MR) {
      const int rows = static_cast<int>(std::min<int64_t>(MR, p.I - i0));
      if (cols == W) {
        tile<MR, NV, false>(p, i0, rows, j0, cols, b + j0, ldb);
      } else {
        tile<MR, NV, true>(p, i0, rows, j0, cols, b + j0, ldb);
      }
    }
  }
}

inline void gemm(const Problem& p) {
  // B's rows must be contiguous for vector loads; otherwise (a transposed operand) copy it.
  thread_local std::vector<float> packed;
  const float* b = p.b;
  int64_t ldb = p.b_k;
  if (p.b_j != 1 && p.J > 1) {
    packed.resize(static_cast<size_t>(p.K * p.J));
    for (int64_t k = 0; k < p.K; ++k)
      for (int64_t j = 0; j < p.J; ++j) packed[k * p.J + j] = p.b[k * p.b_k + j * p.b_j];
    b = packed.data();
    ldb = p.J;
  }
  // Enough independent chains (accumulators) to hide the latency of the FMA, within the
  // vector registers: V's tile (rows x vectors) where there are enough rows.
  if (p.I >= V::rows) {
    sweep<V::rows, V::vecs>(p, b, ldb);
  } else if (p.I >= 3) {
    sweep<4, 3>(p, b, ldb);
  } else {
    sweep<2, 4>(p, b, ldb);
  }
}

}  // namespace KERNEL_NAMESPACE
}  // namespace richneuron
