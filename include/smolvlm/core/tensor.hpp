// smolvlm/core/tensor.hpp — tensors: owning buffers and non-owning views.
//
// Shapes are PyTorch order, outermost first, row-major: a [n_tokens, hidden]
// tensor stores hidden contiguous floats per token. A view can point into an
// mmap'd file, caller memory or an owning tensor; it never frees.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "../config.hpp"
#include "dtype.hpp"
#include "status.hpp"

namespace smolvlm {

inline constexpr int k_max_dims = 6;

struct shape_t {
    std::int64_t dims[k_max_dims] = {0, 0, 0, 0, 0, 0};
    int ndim = 0;

    shape_t() = default;
    shape_t(std::initializer_list<std::int64_t> d) {
        SMOLVLM_ASSERT(d.size() <= std::size_t(k_max_dims));
        for (std::int64_t v : d) dims[ndim++] = v;
    }
    std::int64_t operator[](int i) const { return dims[i]; }
    std::int64_t& operator[](int i) { return dims[i]; }
    std::int64_t numel() const {
        std::int64_t n = 1;
        for (int i = 0; i < ndim; ++i) n *= dims[i];
        return n;
    }
    bool operator==(const shape_t& o) const {
        if (ndim != o.ndim) return false;
        for (int i = 0; i < ndim; ++i)
            if (dims[i] != o.dims[i]) return false;
        return true;
    }
    bool operator!=(const shape_t& o) const { return !(*this == o); }
};

// Writes "[2, 3, 4]" into buf (for error messages).
inline const char* shape_str(const shape_t& s, char* buf, std::size_t cap) {
    std::size_t n = 0;
    n += std::size_t(std::snprintf(buf + n, cap - n, "["));
    for (int i = 0; i < s.ndim && n < cap; ++i)
        n += std::size_t(std::snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)s.dims[i]));
    if (n < cap) std::snprintf(buf + n, cap - n, "]");
    return buf;
}

// Untyped view of stored data (what the safetensors reader hands out).
struct tensor_ref {
    dtype type = dtype::f32;
    shape_t shape;
    const void* data = nullptr;
    std::size_t nbytes = 0;
};

// Typed, strided, non-owning view.
template <class T>
struct tensor_view {
    T* data = nullptr;
    shape_t shape;
    std::int64_t strides[k_max_dims] = {0, 0, 0, 0, 0, 0};  // in elements

    tensor_view() = default;
    tensor_view(T* d, const shape_t& s) : data(d), shape(s) {
        std::int64_t st = 1;
        for (int i = s.ndim - 1; i >= 0; --i) {
            strides[i] = st;
            st *= s.dims[i];
        }
    }
    int ndim() const { return shape.ndim; }
    std::int64_t dim(int i) const { return shape.dims[i]; }
    std::int64_t numel() const { return shape.numel(); }
    bool contiguous() const {
        std::int64_t st = 1;
        for (int i = shape.ndim - 1; i >= 0; --i) {
            if (shape.dims[i] != 1 && strides[i] != st) return false;
            st *= shape.dims[i];
        }
        return true;
    }
    template <class... I>
    T& operator()(I... idx) const {
        static_assert(sizeof...(I) <= std::size_t(k_max_dims), "too many indices");
        const std::int64_t ii[] = {std::int64_t(idx)...};
        std::int64_t off = 0;
        for (std::size_t k = 0; k < sizeof...(I); ++k) off += ii[k] * strides[k];
        return data[off];
    }
    // Row i of the outermost dimension, as a view of the remaining dims.
    tensor_view<T> operator[](std::int64_t i) const {
        tensor_view<T> v;
        v.data = data + i * strides[0];
        v.shape.ndim = shape.ndim - 1;
        for (int k = 1; k < shape.ndim; ++k) {
            v.shape.dims[k - 1] = shape.dims[k];
            v.strides[k - 1] = strides[k];
        }
        return v;
    }
};

// Owning, 64-byte aligned, contiguous tensor. Move-only.
template <class T>
class tensor {
public:
    tensor() = default;
    tensor(const tensor&) = delete;
    tensor& operator=(const tensor&) = delete;
    tensor(tensor&& o) noexcept : data_(o.data_), shape_(o.shape_) { o.data_ = nullptr; o.shape_ = shape_t(); }
    tensor& operator=(tensor&& o) noexcept {
        if (this != &o) {
            release();
            data_ = o.data_;
            shape_ = o.shape_;
            o.data_ = nullptr;
            o.shape_ = shape_t();
        }
        return *this;
    }
    ~tensor() { release(); }

    // Zero-filled tensor of the given shape, or no_memory / bad_shape.
    static result<tensor> zeros(const shape_t& s) {
        tensor t;
        SMOLVLM_TRY(t.resize(s));
        return t;
    }

    status resize(const shape_t& s) {
        std::int64_t n = 1;
        for (int i = 0; i < s.ndim; ++i) {
            if (s.dims[i] < 0) return status(errc::bad_shape, "negative dimension");
            if (s.dims[i] != 0 && n > INT64_MAX / std::int64_t(sizeof(T)) / s.dims[i])
                return status(errc::bad_shape, "tensor size overflows");
            n *= s.dims[i];
        }
        release();
        const std::size_t bytes = std::size_t(n) * sizeof(T);
        data_ = static_cast<T*>(SMOLVLM_MALLOC(bytes ? bytes : 1, k_alignment));
        if (!data_) return status::fmt(errc::no_memory, "cannot allocate %zu bytes", bytes);
        std::memset(static_cast<void*>(data_), 0, bytes);
        shape_ = s;
        return status::ok();
    }

    T* data() { return data_; }
    const T* data() const { return data_; }
    const shape_t& shape() const { return shape_; }
    std::int64_t numel() const { return data_ ? shape_.numel() : 0; }
    std::int64_t dim(int i) const { return shape_.dims[i]; }
    std::size_t nbytes() const { return std::size_t(numel()) * sizeof(T); }
    tensor_view<T> view() { return tensor_view<T>(data_, shape_); }
    tensor_view<const T> view() const { return tensor_view<const T>(data_, shape_); }
    T& operator[](std::int64_t i) { return data_[i]; }
    const T& operator[](std::int64_t i) const { return data_[i]; }
    // Same data, new shape with the same element count.
    status reshape(const shape_t& s) {
        if (s.numel() != shape_.numel()) return status(errc::bad_shape, "reshape changes the element count");
        shape_ = s;
        return status::ok();
    }

private:
    void release() {
        if (data_) SMOLVLM_FREE(data_);
        data_ = nullptr;
    }
    T* data_ = nullptr;
    shape_t shape_;
};

}  // namespace smolvlm
