// smolvlm/core/arena.hpp — aligned allocation, a caller-supplied arena, memory estimates.
//
// Firmware first: the engine can run out of one block of memory the caller owns.
//
//   alignas(64) static unsigned char pool[8 << 20];
//   smolvlm::arena a(pool, sizeof pool);        // nothing is allocated, nothing freed
//   float* x = a.alloc_array<float>(n_tokens * hidden);   // x: [n_tokens, hidden]
//   if (!x) ...                                 // exhausted: null, never a throw
//   a.reset();                                  // next forward pass reuses the block
//
// `arena_plan` computes the size such a block needs (the same sequence of requests,
// with the same padding), and `memory_estimate` is what a model fills up front from
// its config, so an application can check its budget before loading anything:
//
//   memory_estimate m;  m.weights_bytes = ...;  m.kv_bytes_per_token = ...;
//   if (!m.fits(budget, n_ctx)) ...             // or m.max_context(budget)
//
// All sizes are checked for overflow; arithmetic on estimates saturates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>

#include "../config.hpp"
#include "status.hpp"

namespace smolvlm {

// Cache line / AVX-512 register: the default alignment for activation buffers.
inline constexpr std::size_t k_default_alignment = 64;

inline constexpr bool is_power_of_two(std::size_t a) { return a != 0 && (a & (a - 1)) == 0; }

inline bool is_aligned(const void* p, std::size_t align) {
    return is_power_of_two(align) && (reinterpret_cast<std::uintptr_t>(p) & (align - 1)) == 0;
}

// Round n up to a multiple of align (a power of two). False on overflow or a bad align.
inline bool align_up(std::size_t n, std::size_t align, std::size_t* out) {
    if (!is_power_of_two(align)) return false;
    const std::size_t mask = align - 1;
    if (n > std::numeric_limits<std::size_t>::max() - mask) return false;
    *out = (n + mask) & ~mask;
    return true;
}

// a * b, false on overflow.
inline bool mul_size(std::size_t a, std::size_t b, std::size_t* out) {
    if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return false;
    *out = a * b;
    return true;
}

// ---- heap allocation through the SMOLVLM_MALLOC / SMOLVLM_FREE hooks ---------------------

// Null on failure or a bad alignment (never throws). Free with aligned_free.
inline void* aligned_alloc_bytes(std::size_t bytes, std::size_t align = k_default_alignment) {
    if (!is_power_of_two(align)) return nullptr;
    if (align < sizeof(void*)) align = sizeof(void*);
    std::size_t n = 0;
    if (!align_up(bytes ? bytes : 1, align, &n)) return nullptr;
    return SMOLVLM_MALLOC(n, align);
}

inline void aligned_free(void* p) {
    if (p) SMOLVLM_FREE(p);
}

struct aligned_deleter {
    void operator()(void* p) const { aligned_free(p); }
};

// Owning pointer to an aligned block of T (T trivially constructible: floats, ints, bytes).
template <class T>
using aligned_ptr = std::unique_ptr<T[], aligned_deleter>;

template <class T>
inline aligned_ptr<T> make_aligned(std::size_t count, std::size_t align = k_default_alignment) {
    static_assert(std::is_trivially_default_constructible<T>::value && std::is_trivially_destructible<T>::value,
                  "make_aligned is for plain data");
    std::size_t bytes = 0;
    if (!mul_size(count, sizeof(T), &bytes)) return aligned_ptr<T>();
    return aligned_ptr<T>(static_cast<T*>(aligned_alloc_bytes(bytes, align < alignof(T) ? alignof(T) : align)));
}

// ---- arena: bump allocation in one block ------------------------------------------------

class arena {
public:
    arena() = default;

    // Over caller memory (not owned, not freed): size bytes starting at buffer.
    arena(void* buffer, std::size_t size) : base_(static_cast<unsigned char*>(buffer)), cap_(buffer ? size : 0) {}

    // An arena that owns a heap block of `size` bytes (SMOLVLM_MALLOC).
    static result<arena> with_capacity(std::size_t size, std::size_t align = k_default_alignment) {
        void* p = aligned_alloc_bytes(size, align);
        if (!p) return status::fmt(errc::no_memory, "arena: cannot allocate %zu bytes", size);
        arena a(p, size);
        a.owned_ = true;
        return a;
    }

    arena(arena&& o) noexcept { steal(o); }
    arena& operator=(arena&& o) noexcept {
        if (this != &o) {
            release();
            steal(o);
        }
        return *this;
    }
    arena(const arena&) = delete;
    arena& operator=(const arena&) = delete;
    ~arena() { release(); }

    // `bytes` at an address aligned to `align` (a power of two), or null when the block
    // is exhausted or align is bad. A zero-byte request returns a valid, aligned pointer.
    void* alloc(std::size_t bytes, std::size_t align = k_default_alignment) noexcept {
        if (!base_ || !is_power_of_two(align)) return nullptr;
        const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(base_) + used_;
        const std::size_t pad = std::size_t((align - (at & (align - 1))) & (align - 1));
        if (pad > cap_ - used_ || bytes > cap_ - used_ - pad) {
            failed_ = true;
            return nullptr;
        }
        unsigned char* p = base_ + used_ + pad;
        used_ += pad + bytes;
        if (used_ > high_water_) high_water_ = used_;
        return p;
    }

    // count elements of T (uninitialised plain data), aligned to max(align, alignof(T)).
    template <class T>
    T* alloc_array(std::size_t count, std::size_t align = k_default_alignment) noexcept {
        static_assert(std::is_trivially_destructible<T>::value, "the arena never runs destructors");
        std::size_t bytes = 0;
        if (!mul_size(count, sizeof(T), &bytes)) {
            failed_ = true;
            return nullptr;
        }
        return static_cast<T*>(alloc(bytes, align < alignof(T) ? alignof(T) : align));
    }

    // The same, as a result whose error says what did not fit.
    template <class T>
    result<T*> try_alloc_array(std::size_t count, const char* what, std::size_t align = k_default_alignment) {
        T* p = alloc_array<T>(count, align);
        if (!p)
            return status::fmt(errc::no_memory, "arena: no room for %s (%zu x %zu bytes; %zu of %zu bytes used)",
                               what ? what : "buffer", count, sizeof(T), used_, cap_);
        return p;
    }

    // Scratch scopes: everything allocated after mark() is released by rewind().
    struct marker {
        std::size_t used;
    };
    marker mark() const { return marker{used_}; }
    void rewind(marker m) {
        if (m.used <= used_) used_ = m.used;
    }
    void reset() { used_ = 0; }

    std::size_t capacity() const { return cap_; }
    std::size_t used() const { return used_; }
    std::size_t remaining() const { return cap_ - used_; }
    std::size_t high_water() const { return high_water_; }  // most bytes ever in use
    bool exhausted_once() const { return failed_; }          // some request did not fit
    const void* data() const { return base_; }

private:
    void steal(arena& o) {
        base_ = o.base_;
        cap_ = o.cap_;
        used_ = o.used_;
        high_water_ = o.high_water_;
        failed_ = o.failed_;
        owned_ = o.owned_;
        o.base_ = nullptr;
        o.cap_ = o.used_ = o.high_water_ = 0;
        o.owned_ = o.failed_ = false;
    }
    void release() {
        if (owned_) aligned_free(base_);
        base_ = nullptr;
        owned_ = false;
    }

    unsigned char* base_ = nullptr;
    std::size_t cap_ = 0;
    std::size_t used_ = 0;
    std::size_t high_water_ = 0;
    bool failed_ = false;
    bool owned_ = false;
};

// ---- arena_plan: the block size a sequence of requests needs -----------------------------

// Replays requests against offsets instead of memory. Because the real block may start
// at any address, each request is charged its worst-case padding (align - 1) unless the
// caller promises the block is aligned to at least `base_align` (true for arenas from
// with_capacity / make_aligned and for alignas() buffers).
class arena_plan {
public:
    explicit arena_plan(std::size_t base_align = k_default_alignment) : base_align_(base_align) {}

    void add(std::size_t bytes, std::size_t align = k_default_alignment) {
        if (!is_power_of_two(align)) {
            overflow_ = true;
            return;
        }
        std::size_t at = 0;
        if (align <= base_align_) {
            if (!align_up(size_, align, &at)) overflow_ = true;
        } else {
            at = size_ + (align - 1);
            if (at < size_) overflow_ = true;
        }
        if (overflow_ || bytes > std::numeric_limits<std::size_t>::max() - at) {
            overflow_ = true;
            return;
        }
        size_ = at + bytes;
    }
    template <class T>
    void add_array(std::size_t count, std::size_t align = k_default_alignment) {
        std::size_t bytes = 0;
        if (!mul_size(count, sizeof(T), &bytes)) {
            overflow_ = true;
            return;
        }
        add(bytes, align < alignof(T) ? alignof(T) : align);
    }

    // Bytes needed, or an error when the request sizes overflow.
    result<std::size_t> total() const {
        if (overflow_) return status(errc::no_memory, "arena plan: sizes overflow");
        return size_;
    }

private:
    std::size_t base_align_;
    std::size_t size_ = 0;
    bool overflow_ = false;
};

// ---- memory_estimate: what a model fills in from its config, before loading ----------------

namespace detail {
inline std::uint64_t add_sat(std::uint64_t a, std::uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}
inline std::uint64_t mul_sat(std::uint64_t a, std::uint64_t b) {
    return (a != 0 && b > UINT64_MAX / a) ? UINT64_MAX : a * b;
}
}  // namespace detail

struct memory_estimate {
    std::uint64_t weights_bytes = 0;       // weights kept in RAM (0 when used in place from a caller buffer)
    std::uint64_t mapped_bytes = 0;        // weights read through mmap (page cache, not heap)
    std::uint64_t kv_bytes_per_token = 0;  // K and V for one position, all layers
    std::uint64_t scratch_bytes = 0;       // activations of the largest forward step (one arena)
    std::uint64_t fixed_bytes = 0;         // everything else independent of the context length

    // Heap bytes for a context of n_ctx tokens (saturating; mapped_bytes excluded).
    std::uint64_t total(std::uint64_t n_ctx) const {
        std::uint64_t t = detail::add_sat(weights_bytes, scratch_bytes);
        t = detail::add_sat(t, fixed_bytes);
        return detail::add_sat(t, detail::mul_sat(kv_bytes_per_token, n_ctx));
    }
    bool fits(std::uint64_t budget_bytes, std::uint64_t n_ctx) const { return total(n_ctx) <= budget_bytes; }

    // The longest context that fits in budget_bytes (0 when even the fixed part does not).
    std::uint64_t max_context(std::uint64_t budget_bytes) const {
        const std::uint64_t base = total(0);
        if (base > budget_bytes) return 0;
        if (kv_bytes_per_token == 0) return UINT64_MAX;
        return (budget_bytes - base) / kv_bytes_per_token;
    }
};

}  // namespace smolvlm
