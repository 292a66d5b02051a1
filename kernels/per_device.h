/* A host-side value per CUDA device, asked of the driver once (C++, for the launchers in
 * kernels/). */
#pragma once

#include <atomic>

namespace seam {

constexpr int kMaxCachedDevices = 64;

/* One value per device: 0 unknown, else the value + 1. Zero-initialised as a static. */
struct per_device_cache {
    std::atomic<int> slot[kMaxCachedDevices];
};

/* query(dev)'s answer for device dev, asked the first time only: an answer >= 0 is kept
 * (threads racing on a first call may both ask; they get the same answer), a negative one
 * (a failure the caller does not want remembered) is returned and asked again next time, as
 * is every answer for a device number past the cache. */
template <class Query>
int per_device_once(per_device_cache &cache, int dev, Query &&query) {
    if (dev < 0 || dev >= kMaxCachedDevices) return query(dev);
    int v = cache.slot[dev].load(std::memory_order_relaxed);
    if (v > 0) return v - 1;
    v = query(dev);
    if (v >= 0) cache.slot[dev].store(v + 1, std::memory_order_relaxed);
    return v;
}

} // namespace seam
