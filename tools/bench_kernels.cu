/* Helper kernels for the benchmark tools (not part of libseam): device-side input
 * generation, a read-only bandwidth probe, and a spin kernel that keeps the GPU busy while
 * the host queues timed launches (so host launch overhead never shows up in event times). */
#include <cuda_runtime.h>
#include <stdint.h>

namespace {

__device__ __forceinline__ uint32_t hash32(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* kind 0: normal (Box-Muller); 1: normal rounded to bf16 (ties as in bf16 logits);
 * 2: 16 distinct values (the threshold falls in a huge tie); 3: all equal. */
__global__ void fill_kernel(float *p, size_t n, int kind, uint32_t seed) {
    size_t step = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
        uint32_t a = hash32(((uint64_t)seed << 40) ^ (2 * i)), b = hash32(((uint64_t)seed << 40) ^ (2 * i + 1));
        float v;
        if (kind == 2) {
            v = (float)(a & 15) * 0.25f;
        } else if (kind == 3) {
            v = 1.0f;
        } else {
            float u1 = ((float)(a >> 8) + 1.0f) * (1.0f / 16777217.0f);
            float u2 = (float)(b >> 8) * (1.0f / 16777216.0f);
            v = sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
            if (kind == 1) v = __uint_as_float(__float_as_uint(v) & 0xffff0000u);
        }
        p[i] = v;
    }
}

__global__ void read_kernel(const float4 *__restrict__ p, size_t n4, float *sink) {
    float acc = 0.0f;
    size_t step = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += step) {
        float4 v = __ldg(p + i);
        acc += v.x + v.y + v.z + v.w;
    }
    if (acc == 1234.5f) *sink = acc; /* practically never: keeps the loads alive */
}

__device__ __forceinline__ unsigned long long global_ns() {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

__global__ void spin_kernel(long long ns) {
    const unsigned long long t0 = global_ns();
    while (global_ns() - t0 < (unsigned long long)ns) __nanosleep(500);
}

int sm_count() {
    int dev = 0, sms = 132;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    return sms;
}

} // namespace

extern "C" int bench_fill(float *p, size_t n, int kind, uint32_t seed, cudaStream_t s) {
    fill_kernel<<<sm_count() * 8, 256, 0, s>>>(p, n, kind, seed);
    return (int)cudaGetLastError();
}

extern "C" int bench_read(const void *p, size_t bytes, float *sink, cudaStream_t s) {
    read_kernel<<<sm_count() * 8, 512, 0, s>>>((const float4 *)p, bytes / 16, sink);
    return (int)cudaGetLastError();
}

extern "C" int bench_spin(long long ns, cudaStream_t s) {
    spin_kernel<<<1, 1, 0, s>>>(ns);
    return (int)cudaGetLastError();
}
