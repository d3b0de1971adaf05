// bench/bench_util.hpp — helpers shared by the benchmark programs.
#pragma once

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#define SMOLVLM_BENCH_HAS_RUSAGE 1
#endif

namespace smolvlm_bench {

// CPU seconds used by the whole process (all threads) so far; 0 where unavailable. On a
// shared machine this, unlike wall time, does not depend on the neighbours.
inline double process_cpu_seconds() {
#ifdef SMOLVLM_BENCH_HAS_RUSAGE
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
#else
    return 0.0;
#endif
}

}  // namespace smolvlm_bench
