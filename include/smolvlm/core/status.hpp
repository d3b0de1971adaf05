// smolvlm/core/status.hpp — the error model.
//
// Firmware first: no exceptions are required. Every fallible call returns a
// `status` (ok, or an error kind + a human-readable message kept in an inline
// buffer, so reporting an error never allocates) or a `result<T>` (a T, or a
// status). `SMOLVLM_TRY(expr)` returns early from the enclosing function when
// `expr` failed. With exceptions enabled, `value_or_throw()` is available.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "../config.hpp"

#if SMOLVLM_HAS_EXCEPTIONS
#include <stdexcept>
#endif

namespace smolvlm {

enum class errc : std::uint8_t {
    ok = 0,
    io,           // file could not be opened / read / mapped
    truncated,    // input ends before a length or offset says it should
    bad_format,   // input is not what it claims to be (syntax, magic, checksum)
    bad_shape,    // tensor shape / dtype / size mismatch, or a tensor is missing
    unsupported,  // valid input that this library does not handle
    no_memory,    // allocation failed or a caller-set memory cap was exceeded
    invalid_argument,  // the caller passed something unusable
    cancelled,    // the caller's callback asked to stop
};

inline const char* errc_name(errc e) {
    switch (e) {
        case errc::ok: return "ok";
        case errc::io: return "io";
        case errc::truncated: return "truncated";
        case errc::bad_format: return "bad_format";
        case errc::bad_shape: return "bad_shape";
        case errc::unsupported: return "unsupported";
        case errc::no_memory: return "no_memory";
        case errc::invalid_argument: return "invalid_argument";
        case errc::cancelled: return "cancelled";
    }
    return "unknown";
}

class [[nodiscard]] status {
public:
    static constexpr std::size_t k_max_message = 240;

    status() = default;  // ok
    status(errc code, const char* message) : code_(code) { set(message); }

    static status ok() { return status(); }

    // printf-style constructor: status::fmt(errc::bad_format, "at byte %zu", off)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    static status fmt(errc code, const char* format, ...) {
        status s;
        s.code_ = code;
        va_list ap;
        va_start(ap, format);
        std::vsnprintf(s.msg_, sizeof(s.msg_), format, ap);
        va_end(ap);
        return s;
    }

    bool is_ok() const { return code_ == errc::ok; }
    explicit operator bool() const { return is_ok(); }
    errc code() const { return code_; }
    const char* message() const { return code_ == errc::ok ? "ok" : msg_; }

    // Prefix context: "reading config.json: " + old message.
    status& prepend(const char* context) {
        if (is_ok() || !context) return *this;
        // Intentionally truncating: context first, then as much of the old message as fits.
        char tmp[sizeof(msg_)];
        std::size_t c = std::strlen(context);
        if (c > sizeof(tmp) - 1) c = sizeof(tmp) - 1;
        std::memcpy(tmp, context, c);
        std::size_t m = std::strlen(msg_);
        if (m > sizeof(tmp) - 1 - c) m = sizeof(tmp) - 1 - c;
        std::memcpy(tmp + c, msg_, m);
        tmp[c + m] = '\0';
        std::memcpy(msg_, tmp, sizeof(msg_));
        return *this;
    }

private:
    void set(const char* m) {
        if (!m) m = "";
        std::size_t n = std::strlen(m);
        if (n >= sizeof(msg_)) n = sizeof(msg_) - 1;
        std::memcpy(msg_, m, n);
        msg_[n] = '\0';
    }

    errc code_ = errc::ok;
    char msg_[k_max_message] = {0};
};

// result<T>: either a T or a non-ok status. Move-only types are fine.
template <class T>
class [[nodiscard]] result {
    static_assert(!std::is_reference<T>::value, "result<T&> is not supported");

public:
    result(T&& v) : has_(true) { new (&storage_) T(std::move(v)); }  // NOLINT: implicit on purpose
    result(const T& v) : has_(true) { new (&storage_) T(v); }       // NOLINT
    result(status s) : status_(std::move(s)), has_(false) {          // NOLINT
        if (status_.is_ok()) status_ = status(errc::invalid_argument, "result built from an ok status");
    }
    result(errc code, const char* message) : status_(code, message), has_(false) {}

    result(result&& o) noexcept : status_(o.status_), has_(o.has_) {
        if (has_) new (&storage_) T(std::move(*o.ptr()));
    }
    result(const result& o) : status_(o.status_), has_(o.has_) {
        if (has_) new (&storage_) T(*o.ptr());
    }
    result& operator=(result&& o) noexcept {
        if (this != &o) {
            reset();
            status_ = o.status_;
            has_ = o.has_;
            if (has_) new (&storage_) T(std::move(*o.ptr()));
        }
        return *this;
    }
    result& operator=(const result& o) {
        if (this != &o) {
            reset();
            status_ = o.status_;
            has_ = o.has_;
            if (has_) new (&storage_) T(*o.ptr());
        }
        return *this;
    }
    ~result() { reset(); }

    bool is_ok() const { return has_; }
    explicit operator bool() const { return has_; }
    const status& error() const { return status_; }
    status take_status() const { return status_; }

    T& value() & { SMOLVLM_ASSERT(has_); return *ptr(); }
    const T& value() const& { SMOLVLM_ASSERT(has_); return *ptr(); }
    T&& value() && { SMOLVLM_ASSERT(has_); return std::move(*ptr()); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

#if SMOLVLM_HAS_EXCEPTIONS
    T value_or_throw() && {
        if (!has_) throw std::runtime_error(status_.message());
        return std::move(*ptr());
    }
#endif

private:
    T* ptr() { return std::launder(reinterpret_cast<T*>(&storage_)); }
    const T* ptr() const { return std::launder(reinterpret_cast<const T*>(&storage_)); }
    void reset() {
        if (has_) ptr()->~T();
        has_ = false;
    }

    status status_;
    bool has_;
    alignas(T) unsigned char storage_[sizeof(T)];
};

#if SMOLVLM_HAS_EXCEPTIONS
inline void throw_if_error(const status& s) {
    if (!s.is_ok()) throw std::runtime_error(s.message());
}
#endif

namespace detail {
inline status to_status(const status& s) { return s; }
template <class T>
inline status to_status(const result<T>& r) { return r.is_ok() ? status() : r.error(); }
}  // namespace detail

}  // namespace smolvlm

// Propagate a failure: works on status and result<T> expressions.
#define SMOLVLM_TRY(expr)                                                          \
    do {                                                                           \
        ::smolvlm::status smolvlm_try_status_ = ::smolvlm::detail::to_status(expr); \
        if (!smolvlm_try_status_.is_ok()) return smolvlm_try_status_;              \
    } while (0)

// Declare `var` from a result<T> expression, or return its status.
#define SMOLVLM_CONCAT_INNER_(a, b) a##b
#define SMOLVLM_CONCAT_(a, b) SMOLVLM_CONCAT_INNER_(a, b)
#define SMOLVLM_ASSIGN_OR_RETURN(var, expr)                                   \
    auto SMOLVLM_CONCAT_(smolvlm_res_, __LINE__) = (expr);                    \
    if (!SMOLVLM_CONCAT_(smolvlm_res_, __LINE__).is_ok())                     \
        return SMOLVLM_CONCAT_(smolvlm_res_, __LINE__).take_status();         \
    var = std::move(SMOLVLM_CONCAT_(smolvlm_res_, __LINE__)).value()
