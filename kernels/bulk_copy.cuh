/* Hopper bulk copies (global -> shared through the copy engine, no registers held while in
 * flight) and the transaction barriers (mbarrier) that say when one has landed. Addresses
 * are shared-window (cvta) addresses of this CTA. sm_90 only. */
#pragma once

#include <cstdint>

namespace seam {

__device__ __forceinline__ uint32_t smem_addr(const void *p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}

/* One thread initialises; the others may use the barrier after a CTA barrier. */
__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t arrivals) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(arrivals) : "memory");
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
}

/* This thread's arrival, and bytes more to land before the current phase completes. */
__device__ __forceinline__ void mbar_arrive_expect(uint32_t bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes) : "memory");
}

/* Blocks until the barrier's phase of the given parity has completed. */
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
    uint32_t done;
    do {
        asm volatile("{\n\t.reg .pred p;\n\t"
                     "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n\t"
                     "selp.u32 %0, 1, 0, p;\n\t}"
                     : "=r"(done)
                     : "r"(bar), "r"(parity)
                     : "memory");
    } while (!done);
}

/* bytes (a multiple of 16; both addresses 16-byte aligned) from global src to shared dst,
 * completing on bar. Shared memory this CTA read earlier through ordinary loads must be
 * ordered before the copy's write with fence_async_after_reads (a CTA barrier between
 * the reads and the fence included). */
__device__ __forceinline__ void bulk_copy_g2s(uint32_t dst, const void *src, uint32_t bytes, uint32_t bar) {
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(dst),
                 "l"(src), "r"(bytes), "r"(bar)
                 : "memory");
}
__device__ __forceinline__ void fence_async_after_reads() {
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
}

} // namespace seam
