/* bf16 on the host for the CPU references: round-to-nearest-even, NaN kept quiet. */
#ifndef SEAM_TEST_BF16_HOST_H
#define SEAM_TEST_BF16_HOST_H

#include <stdint.h>
#include <string.h>

static inline uint16_t f2bf(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float bf2f(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#endif
