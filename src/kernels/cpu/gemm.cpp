#include "kernels/cpu/gemm.h"

#include <cblas.h>
#include <dnnl.h>
#include <omp.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/thread_pool.h"

namespace stretch::cpu {

template <>
void gemm<float>(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                 const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                 std::int64_t ldc) {
    // stretch's pool already splits the work: oneDNN must not start an OpenMP team inside each slice.
    static thread_local const bool one_thread = (omp_set_num_threads(1), true);
    (void)one_thread;
    const dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b,
                                            ldb, beta, c, ldc);
    STRETCH_ASSERT(status == dnnl_success);
}

template <>
void gemm<double>(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                  const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
                  std::int64_t ldc) {
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
                static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

std::string f32_gemm_name() {
    const dnnl_version_t* v = dnnl_version();
    const char* isa = "";
    switch (dnnl_get_effective_cpu_isa()) {
        case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
        case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
        case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
        case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
        case dnnl_cpu_isa_avx2_vnni: isa = "avx2_vnni"; break;
        case dnnl_cpu_isa_avx2: isa = "avx2"; break;
        default: isa = "sse41 or other"; break;
    }
    return fmt::format("oneDNN {}.{}.{} sgemm, {}", v->major, v->minor, v->patch, isa);
}

// Rows per thread below which splitting the M dimension starves the BLAS micro-kernel; then the
// N dimension (output features) is split instead. Either way each output element is computed by
// exactly one thread, so results do not depend on which split was taken.
constexpr std::int64_t min_rows_per_thread = 16;

template <class T>
void linear_forward(const T* x, const T* w, T* y, std::int64_t m, std::int64_t k, std::int64_t n) {
    auto& tp = pool();
    if (m >= min_rows_per_thread * tp.size()) {
        tp.parallel_for(m, [&](std::int64_t r0, std::int64_t r1, int) {
            gemm<T>(false, true, r1 - r0, n, k, T(1), x + r0 * k, k, w, k, T(0), y + r0 * n, n);
        });
    } else {
        tp.parallel_for(n, [&](std::int64_t c0, std::int64_t c1, int) {
            gemm<T>(false, true, m, c1 - c0, k, T(1), x, k, w + c0 * k, k, T(0), y + c0, n);
        });
    }
}

template <class T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, std::int64_t m, std::int64_t k,
                     std::int64_t n, bool accumulate_dx) {
    auto& tp = pool();
    if (dx != nullptr) {
        const T beta = accumulate_dx ? T(1) : T(0);
        if (m >= min_rows_per_thread * tp.size()) {
            tp.parallel_for(m, [&](std::int64_t r0, std::int64_t r1, int) {
                gemm<T>(false, false, r1 - r0, k, n, T(1), dy + r0 * n, n, w, k, beta, dx + r0 * k, k);
            });
        } else {
            tp.parallel_for(k, [&](std::int64_t c0, std::int64_t c1, int) {
                gemm<T>(false, false, m, c1 - c0, n, T(1), dy, n, w + c0, k, beta, dx + c0, k);
            });
        }
    }
    if (dw != nullptr) {
        tp.parallel_for(n, [&](std::int64_t r0, std::int64_t r1, int) {
            gemm<T>(true, false, r1 - r0, k, m, T(1), dy + r0, n, x, k, T(1), dw + r0 * k, k);
        });
    }
}

template void linear_forward<float>(const float*, const float*, float*, std::int64_t, std::int64_t, std::int64_t);
template void linear_forward<double>(const double*, const double*, double*, std::int64_t, std::int64_t,
                                     std::int64_t);
template void linear_backward<float>(const float*, const float*, const float*, float*, float*, std::int64_t,
                                     std::int64_t, std::int64_t, bool);
template void linear_backward<double>(const double*, const double*, const double*, double*, double*,
                                      std::int64_t, std::int64_t, std::int64_t, bool);

}  // namespace stretch::cpu
