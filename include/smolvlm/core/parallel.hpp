// smolvlm/core/parallel.hpp — a small thread pool with parallel_for.
//
// No global state: the caller creates a pool (default: hardware threads) and
// passes it down. parallel_for(n, fn) calls fn(begin, end, thread_index) on
// disjoint ranges covering [0, n); the calling thread takes part. With
// SMOLVLM_NO_THREADS, or a pool of 1, everything runs inline.
//
// Hand-off: decoding one token makes ~250 parallel_for calls of a few microseconds each,
// so waking sleeping threads through the OS for each would cost more than the work.
// After a job a worker spins (with a CPU pause hint) for up to k_spin_us waiting for the
// next one and only then sleeps on a condition variable; the caller wakes sleepers only
// when there are any, and itself spins before blocking on the finish.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "../config.hpp"

#if !defined(SMOLVLM_NO_THREADS)
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#endif

namespace smolvlm {

class thread_pool {
public:
    using range_fn = std::function<void(std::int64_t begin, std::int64_t end, int thread)>;

    // n_threads <= 0: hardware concurrency.
    explicit thread_pool(int n_threads = 0) {
#if defined(SMOLVLM_NO_THREADS)
        (void)n_threads;
        n_ = 1;
#else
        if (n_threads <= 0) n_threads = int(std::thread::hardware_concurrency());
        if (n_threads <= 0) n_threads = 1;
        n_ = n_threads;
        for (int i = 1; i < n_; ++i) workers_.emplace_back([this, i] { worker(i); });
#endif
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() {
#if !defined(SMOLVLM_NO_THREADS)
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_.store(true);
        }
        cv_.notify_all();
        for (auto& t : workers_) t.join();
#endif
    }

    int size() const { return n_; }

    // Split [0, n) into size() contiguous chunks (rounded to `grain`) and run them.
    void parallel_for(std::int64_t n, const range_fn& fn, std::int64_t grain = 1) {
        if (n <= 0) return;
        if (grain < 1) grain = 1;
        const std::int64_t units = (n + grain - 1) / grain;
        const int tasks = int(units < n_ ? units : n_);
        if (tasks <= 1) {
            fn(0, n, 0);
            return;
        }
#if defined(SMOLVLM_NO_THREADS)
        fn(0, n, 0);
#else
        job_n_ = n;
        job_grain_ = grain;
        job_tasks_ = tasks;
        job_ = &fn;
        // Every worker reports back, even those without a share: then no worker can still
        // be reading this job's fields when the next job overwrites them.
        pending_.store(n_ - 1, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_seq_cst);  // publishes the job fields
        if (sleepers_.load(std::memory_order_seq_cst) > 0) {
            std::lock_guard<std::mutex> lk(mu_);
            cv_.notify_all();
        }
        run_task(0);
        // Wait for the others: spin first (they usually finish within microseconds).
        if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
            std::unique_lock<std::mutex> lk(mu_);
            done_cv_.wait(lk, [this] { return pending_.load(std::memory_order_acquire) == 0; });
        }
        job_ = nullptr;
#endif
    }

private:
#if !defined(SMOLVLM_NO_THREADS)
    void run_task(int t) {
        const std::int64_t units = (job_n_ + job_grain_ - 1) / job_grain_;
        const std::int64_t b = units * t / job_tasks_ * job_grain_;
        std::int64_t e = units * (t + 1) / job_tasks_ * job_grain_;
        if (e > job_n_) e = job_n_;
        if (b < e) (*job_)(b, e, t);
    }
    static constexpr int k_spin_us = 300;  // how long an idle thread polls before sleeping

    static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
    }
    // Poll `ready` for up to k_spin_us; true if it became true.
    template <class F>
    static bool spin_until(F ready) {
        using clock = std::chrono::steady_clock;
        const auto until = clock::now() + std::chrono::microseconds(k_spin_us);
        for (;;) {
            for (int i = 0; i < 64; ++i) {
                if (ready()) return true;
                cpu_relax();
            }
            if (clock::now() >= until) return ready();
        }
    }

    void worker(int index) {
        std::uint64_t seen = 0;
        for (;;) {
            if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); })) {
                std::unique_lock<std::mutex> lk(mu_);
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                cv_.wait(lk, [&] { return stop_.load() || generation_.load(std::memory_order_seq_cst) != seen; });
                sleepers_.fetch_sub(1, std::memory_order_seq_cst);
            }
            if (stop_.load()) return;
            seen = generation_.load(std::memory_order_acquire);
            if (index < job_tasks_) run_task(index);
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lk(mu_);
                done_cv_.notify_all();
            }
        }
    }

    std::vector<std::thread> workers_;
    std::mutex mu_;
    std::condition_variable cv_, done_cv_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<int> sleepers_{0};
    std::atomic<int> pending_{0};
    const range_fn* job_ = nullptr;
    std::int64_t job_n_ = 0, job_grain_ = 1;
    int job_tasks_ = 0;
#endif
    int n_ = 1;
};

// Run fn over [0, n) on the pool, or inline when pool is null.
inline void parallel_for(thread_pool* pool, std::int64_t n, const thread_pool::range_fn& fn,
                         std::int64_t grain = 1) {
    if (pool)
        pool->parallel_for(n, fn, grain);
    else if (n > 0)
        fn(0, n, 0);
}

}  // namespace smolvlm
