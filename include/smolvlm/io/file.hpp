// smolvlm/io/file.hpp — reading files: memory-mapped (POSIX) or read into memory.
//
// A `mapped_file` owns either an mmap'd region or a heap buffer; data() is valid
// while it lives. `memory_blob` is the same interface over caller memory (games and
// firmware that load through their own asset systems), never freed by us.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "../config.hpp"
#include "../core/status.hpp"

#if !defined(SMOLVLM_NO_MMAP) && (defined(__unix__) || defined(__APPLE__))
#define SMOLVLM_HAVE_MMAP 1
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#else
#define SMOLVLM_HAVE_MMAP 0
#endif

namespace smolvlm {

class mapped_file {
public:
    mapped_file() = default;
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    mapped_file(mapped_file&& o) noexcept { swap(o); }
    mapped_file& operator=(mapped_file&& o) noexcept {
        if (this != &o) {
            release();
            swap(o);
        }
        return *this;
    }
    ~mapped_file() { release(); }

    // Open path; mmap when possible and allowed, else read the whole file.
    static result<mapped_file> open(const char* path, bool allow_mmap = true) {
        mapped_file f;
#if SMOLVLM_HAVE_MMAP
        if (allow_mmap) {
            int fd = ::open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) return status::fmt(errc::io, "cannot open '%s': %s", path, std::strerror(errno));
            struct stat st;
            if (::fstat(fd, &st) != 0) {
                ::close(fd);
                return status::fmt(errc::io, "cannot stat '%s'", path);
            }
            if (!S_ISREG(st.st_mode)) {
                ::close(fd);
                return status::fmt(errc::io, "'%s' is not a regular file", path);
            }
            f.size_ = std::size_t(st.st_size);
            if (f.size_ > 0) {
                void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
                if (p != MAP_FAILED) {
                    f.data_ = static_cast<const std::uint8_t*>(p);
                    f.mapped_ = true;
                    ::close(fd);
                    return f;
                }
            }
            ::close(fd);
            if (f.size_ == 0) return f;
        }
#else
        (void)allow_mmap;
#endif
        std::FILE* fp = std::fopen(path, "rb");
        if (!fp) return status::fmt(errc::io, "cannot open '%s'", path);
        if (std::fseek(fp, 0, SEEK_END) != 0) {
            std::fclose(fp);
            return status::fmt(errc::io, "cannot seek in '%s'", path);
        }
        long len = std::ftell(fp);
        if (len < 0) {
            std::fclose(fp);
            return status::fmt(errc::io, "cannot size '%s'", path);
        }
        std::fseek(fp, 0, SEEK_SET);
        f.size_ = std::size_t(len);
        auto* buf = static_cast<std::uint8_t*>(SMOLVLM_MALLOC(f.size_ ? f.size_ : 1, k_alignment));
        if (!buf) {
            std::fclose(fp);
            return status::fmt(errc::no_memory, "cannot allocate %zu bytes for '%s'", f.size_, path);
        }
        if (f.size_ && std::fread(buf, 1, f.size_, fp) != f.size_) {
            std::fclose(fp);
            SMOLVLM_FREE(buf);
            return status::fmt(errc::io, "short read from '%s'", path);
        }
        std::fclose(fp);
        f.data_ = buf;
        f.heap_ = true;
        return f;
    }

    const std::uint8_t* data() const { return data_; }
    std::size_t size() const { return size_; }
    bool is_mapped() const { return mapped_; }

private:
    void swap(mapped_file& o) {
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
        std::swap(mapped_, o.mapped_);
        std::swap(heap_, o.heap_);
    }
    void release() {
#if SMOLVLM_HAVE_MMAP
        if (mapped_ && data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
#endif
        if (heap_ && data_) SMOLVLM_FREE(const_cast<std::uint8_t*>(data_));
        data_ = nullptr;
        size_ = 0;
        mapped_ = heap_ = false;
    }
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    bool mapped_ = false;
    bool heap_ = false;
};

// Bytes [p, p + n) of a read-only file mapping will not be read again (a weight converted at
// load): the whole pages inside the range leave the process's resident set. The page cache
// keeps them and a later read faults them back in, so this never changes what is read; it
// only bounds peak memory when a model is quantized at load (pipeline/loader.hpp). Call it
// only on memory from mapped_file::open with is_mapped() (never on heap or caller memory).
// A no-op where madvise is unavailable.
inline void release_mapped_pages(const void* p, std::size_t n) {
#if SMOLVLM_HAVE_MMAP && defined(MADV_DONTNEED)
    const long ps = ::sysconf(_SC_PAGESIZE);
    if (ps <= 0 || !p || n == 0) return;
    const std::uintptr_t page = std::uintptr_t(ps);
    const std::uintptr_t b = (reinterpret_cast<std::uintptr_t>(p) + page - 1) / page * page;
    const std::uintptr_t e = (reinterpret_cast<std::uintptr_t>(p) + n) / page * page;
    if (e > b) (void)::madvise(reinterpret_cast<void*>(b), std::size_t(e - b), MADV_DONTNEED);
#else
    (void)p;
    (void)n;
#endif
}

// Read a whole (small) text file, refusing files above max_bytes.
inline result<std::string> read_text_file(const char* path, std::size_t max_bytes = std::size_t(256) << 20) {
    std::FILE* fp = std::fopen(path, "rb");
    if (!fp) return status::fmt(errc::io, "cannot open '%s'", path);
    std::string out;
    char buf[65536];
    for (;;) {
        std::size_t got = std::fread(buf, 1, sizeof buf, fp);
        if (got == 0) break;
        if (out.size() + got > max_bytes) {
            std::fclose(fp);
            return status::fmt(errc::unsupported, "'%s' is larger than %zu bytes", path, max_bytes);
        }
        out.append(buf, got);
    }
    const bool err = std::ferror(fp) != 0;
    std::fclose(fp);
    if (err) return status::fmt(errc::io, "read error on '%s'", path);
    return out;
}

inline bool file_exists(const char* path) {
    std::FILE* fp = std::fopen(path, "rb");
    if (!fp) return false;
    std::fclose(fp);
    return true;
}

// "dir" + "/" + "name", without doubling the slash.
inline std::string path_join(const std::string& dir, const std::string& name) {
    if (dir.empty()) return name;
    if (!name.empty() && name[0] == '/') return name;
    if (dir.back() == '/') return dir + name;
    return dir + "/" + name;
}

inline std::string path_dirname(const std::string& p) {
    std::size_t s = p.find_last_of('/');
    if (s == std::string::npos) return ".";
    if (s == 0) return "/";
    return p.substr(0, s);
}

}  // namespace smolvlm
