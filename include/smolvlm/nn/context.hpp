// smolvlm/nn/context.hpp — what every nn/ call needs to run: the caller's thread pool
// and the kernel table chosen for this CPU (once, when the model was loaded, honouring a
// forced ISA). Owned by a session; no globals, no CPU detection below this point.
#pragma once

#include "../core/parallel.hpp"
#include "../kernels/dispatch.hpp"

namespace smolvlm::nn {

struct context {
    thread_pool* pool = nullptr;  // null: single-threaded
    kernels::kernel_table kt;     // scalar until the caller sets one (select_kernels)

    // The same kernels on the calling thread only (for work already split over threads).
    context single_threaded() const { return context{nullptr, kt}; }
};

}  // namespace smolvlm::nn
