/* Symbol visibility: the library is built with hidden visibility and a linker version
 * script; only declarations marked SEAM_API (all named seam_*) are exported. */
#ifndef SEAM_EXPORT_H
#define SEAM_EXPORT_H

#if defined(SEAM_BUILDING_LIBRARY) && defined(__GNUC__)
#define SEAM_API __attribute__((visibility("default")))
#else
#define SEAM_API
#endif

/* Same type as cudaStream_t (struct CUstream_st *) without including CUDA headers; NULL is
 * the legacy default stream. */
typedef struct CUstream_st *seam_stream;

#endif
