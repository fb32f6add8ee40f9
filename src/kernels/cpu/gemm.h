// Matrix products through libraries made for the job, one thread per call, with the work split over
// stretch's own thread pool, so the partition, and hence every result, is fixed by the thread count.
// Row-major throughout. f32 goes through oneDNN's sgemm, which JIT-compiles its kernels for the CPU it
// runs on (AVX-512 on Zen 4: 1.8x OpenBLAS 0.3.21's AVX2 kernels, which this machine's environment
// selects with OPENBLAS_CORETYPE=Haswell, and on par with its AVX-512 ones; docs/performance.md);
// f64 (reference checks only) through OpenBLAS's cblas_dgemm, which oneDNN does not offer.
#pragma once

#include <cstdint>
#include <string>

namespace stretch::cpu {

// C[M,N] = alpha * op(A) op(B) + beta * C on the calling thread; op = transpose when the flag is set.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

// The f32 GEMM's library, version and the instruction set its kernels use on this CPU:
// `stretch bench` prints it beside the GEMM figures.
std::string f32_gemm_name();

// A linear layer without bias, weights stored [out, in] as in PyTorch and llama2.c.
// y[M,N] = x[M,K] w[N,K]^T
template <class T>
void linear_forward(const T* x, const T* w, T* y, std::int64_t m, std::int64_t k, std::int64_t n);

// dx[M,K] (+)= dy[M,N] w[N,K];  dw[N,K] += dy^T x. Either output may be null (not needed).
template <class T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, std::int64_t m, std::int64_t k,
                     std::int64_t n, bool accumulate_dx);

}  // namespace stretch::cpu
