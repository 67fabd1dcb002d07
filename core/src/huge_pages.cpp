#include "triage/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdint>

namespace triage {

namespace {
constexpr std::size_t kSmallPage = 4096;

// What a mapping of `bytes` takes: whole small pages, at least one.
std::size_t pages_of(std::size_t bytes) {
    return bytes == 0 ? kSmallPage : (bytes + kSmallPage - 1) / kSmallPage * kSmallPage;
}
}  // namespace

void* huge_map(std::size_t bytes) {
    const std::size_t size = pages_of(bytes);
    // Mapped 2 MiB larger, then trimmed to start on a 2 MiB boundary.
    void* raw = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + kHugePage - 1) & ~(std::uintptr_t{kHugePage} - 1);
    if (aligned > start) munmap(raw, aligned - start);
    const std::uintptr_t end = start + size + kHugePage;
    if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
    void* p = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
    if (size >= kHugePage) madvise(p, size / kHugePage * kHugePage, MADV_HUGEPAGE);  // advice: may be refused
#endif
    return p;
}

void* HugeArena::do_allocate(std::size_t bytes, std::size_t align) {
    std::size_t at = (used_ + align - 1) / align * align;
    if (regions_.empty() || at + bytes > size_) {
        size_ = bytes > region_bytes_ ? bytes : region_bytes_;
        if (size_ >= kHugePage) size_ = huge_round(size_);
        regions_.emplace_back(size_);
        at = 0;
    }
    used_ = at + bytes;
    return static_cast<char*>(regions_.back().get()) + at;
}

void huge_unmap(void* p, std::size_t bytes) {
    if (p) munmap(p, pages_of(bytes));
}

}  // namespace triage
