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
// when there are any. Work is cut into a few chunks per thread claimed through one atomic
// word, so a worker the OS has descheduled (shared machines) delays nothing: the caller
// takes its chunks, and only waits for chunks already running elsewhere.
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

    // Split [0, n) into chunks (boundaries on multiples of `grain`) and run them on the
    // calling thread and the workers. The `thread` argument is the index (< size()) of
    // the thread running that chunk; one thread may run several chunks.
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
        // Chunks are claimed dynamically: if a worker is late (descheduled on a busy
        // machine), the caller runs its share instead of waiting for it.
        const std::int64_t max_chunks = std::int64_t(n_) * k_chunks_per_thread;
        std::int64_t nc = units < max_chunks ? units : max_chunks;
        if (nc > 0xffff) nc = 0xffff;
        const std::uint32_t chunks = std::uint32_t(nc);
        job_n_ = n;
        job_grain_ = grain;
        job_units_ = units;
        job_ = &fn;
        remaining_.store(chunks, std::memory_order_relaxed);
        ++gen_;
        ticket_.store(make_ticket(gen_, chunks, 0), std::memory_order_seq_cst);  // publishes the job
        if (sleepers_.load(std::memory_order_seq_cst) > 0) {
            std::lock_guard<std::mutex> lk(mu_);
            cv_.notify_all();
        }
        run_chunks(gen_, 0);
        // Wait for chunks still running on workers: spin first, then block.
        if (!spin_until([this] { return remaining_.load(std::memory_order_acquire) == 0; })) {
            std::unique_lock<std::mutex> lk(mu_);
            done_cv_.wait(lk, [this] { return remaining_.load(std::memory_order_acquire) == 0; });
        }
        job_ = nullptr;
#endif
    }

private:
#if !defined(SMOLVLM_NO_THREADS)
    static constexpr int k_spin_us = 300;          // how long an idle thread polls before sleeping
    static constexpr int k_chunks_per_thread = 4;  // granularity of dynamic claiming

    // ticket_ = generation (bits 32..63) | chunk count (16..31) | next unclaimed chunk
    // (0..15). A claim is a compare-exchange on the whole word, so it only succeeds for the
    // job it read, and nothing else about the job is read before it succeeds.
    static std::uint64_t make_ticket(std::uint32_t gen, std::uint32_t chunks, std::uint32_t next) {
        return (std::uint64_t(gen) << 32) | (std::uint64_t(chunks) << 16) | next;
    }

    // Claim and run chunks of job `gen` until none is left (or a newer job was posted).
    // A successful claim means the job is unfinished, so the caller is still inside
    // parallel_for and the job fields are stable.
    void run_chunks(std::uint32_t gen, int thread) {
        std::uint64_t t = ticket_.load(std::memory_order_acquire);
        for (;;) {
            if (std::uint32_t(t >> 32) != gen) return;
            const std::uint32_t chunks = std::uint32_t(t >> 16) & 0xffff, c = std::uint32_t(t) & 0xffff;
            if (c >= chunks) return;
            if (!ticket_.compare_exchange_weak(t, make_ticket(gen, chunks, c + 1), std::memory_order_acq_rel,
                                               std::memory_order_acquire))
                continue;  // t reloaded
            const std::int64_t b = job_units_ * c / chunks * job_grain_;
            std::int64_t e = job_units_ * (c + 1) / chunks * job_grain_;
            if (e > job_n_) e = job_n_;
            if (b < e) (*job_)(b, e, thread);
            if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lk(mu_);
                done_cv_.notify_all();
            }
            t = ticket_.load(std::memory_order_acquire);
        }
    }

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
            // Let another runnable thread have this core: on a busy machine the thread we
            // wait for may be queued behind us on the same core.
            std::this_thread::yield();
        }
    }

    void worker(int index) {
        std::uint32_t seen = 0;
        auto posted = [&] { return stop_.load() || std::uint32_t(ticket_.load(std::memory_order_acquire) >> 32) != seen; };
        for (;;) {
            if (!spin_until(posted)) {
                std::unique_lock<std::mutex> lk(mu_);
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                cv_.wait(lk, posted);
                sleepers_.fetch_sub(1, std::memory_order_seq_cst);
            }
            if (stop_.load()) return;
            seen = std::uint32_t(ticket_.load(std::memory_order_acquire) >> 32);
            run_chunks(seen, index);
        }
    }

    std::vector<std::thread> workers_;
    std::mutex mu_;
    std::condition_variable cv_, done_cv_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> ticket_{0};
    std::atomic<int> sleepers_{0};
    std::atomic<std::uint32_t> remaining_{0};
    std::uint32_t gen_ = 0;  // caller side only
    const range_fn* job_ = nullptr;
    std::int64_t job_n_ = 0, job_grain_ = 1, job_units_ = 0;
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
