// Matrix products through the BLAS (OpenBLAS cblas, pinned to one thread per call) with the work
// split over stretch's own thread pool, so the partition, and hence every result, is fixed by the
// thread count. Row-major throughout. Not a GEMM implementation of our own: the BLAS is the tool
// made for the job.
#pragma once

#include <cstdint>

namespace stretch::cpu {

// C[M,N] = alpha * op(A) op(B) + beta * C on the calling thread; op = transpose when the flag is set.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

// The BLAS's name for the kernels it chose for this CPU (OpenBLAS's core type, e.g. "Haswell"):
// `stretch bench` prints it beside the GEMM figures.
const char* blas_core_name();

// A linear layer without bias, weights stored [out, in] as in PyTorch and llama2.c.
// y[M,N] = x[M,K] w[N,K]^T
template <class T>
void linear_forward(const T* x, const T* w, T* y, std::int64_t m, std::int64_t k, std::int64_t n);

// dx[M,K] (+)= dy[M,N] w[N,K];  dw[N,K] += dy^T x. Either output may be null (not needed).
template <class T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, std::int64_t m, std::int64_t k,
                     std::int64_t n, bool accumulate_dx);

}  // namespace stretch::cpu
