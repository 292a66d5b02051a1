/* seam: a CUDA execution runtime for sparse-attention (DSA) models with piecewise CUDA
 * graphs. Include this for the whole public API. */
#ifndef SEAM_H
#define SEAM_H

#include "seam/runtime.h"
#include "seam/context.h"
#include "seam/op.h"
#include "seam/topk.h"
#include "seam/graph.h"
#include "seam/layers.h"
#include "seam/comm.h"
#include "seam/indexer.h"

#endif
