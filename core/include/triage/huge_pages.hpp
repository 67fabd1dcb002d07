// Memory for Triage's largest arrays in transparent huge pages (2 MiB) where
// the kernel gives them: the first write to a 2 MiB range maps all of it in
// one fault, where 4 KiB pages take 512. A page fault is dear on the VMs a
// capture is analysed on (~6-10 us each on a Firecracker guest, measured in
// bench/RESULTS.md), and the RTT statistic writes tens of megabytes on a
// connection-heavy capture. Without huge pages (transparent_hugepage set to
// `never`) the same memory comes in 4 KiB pages, as before.
#pragma once

#include <cstddef>
#include <memory>
#include <memory_resource>
#include <new>
#include <vector>

namespace triage {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

// `bytes` of zeroed memory starting on a 2 MiB boundary, marked for huge
// pages: each whole 2 MiB range in it is mapped at once when first written; a
// tail shorter than 2 MiB stays in small pages (no memory mapped that the
// caller does not write). Throws std::bad_alloc when the system has none.
void* huge_map(std::size_t bytes);
void huge_unmap(void* p, std::size_t bytes);
// `bytes` rounded up to whole huge pages.
constexpr std::size_t huge_round(std::size_t bytes) {
    return (bytes + kHugePage - 1) / kHugePage * kHugePage;
}

// A huge_map() region, unmapped when destroyed.
class HugeRegion {
public:
    explicit HugeRegion(std::size_t bytes) : p_(huge_map(bytes)), bytes_(bytes) {}
    HugeRegion(HugeRegion&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; }
    HugeRegion& operator=(HugeRegion&& o) noexcept {
        if (this != &o) {
            release();
            p_ = o.p_;
            bytes_ = o.bytes_;
            o.p_ = nullptr;
        }
        return *this;
    }
    HugeRegion(const HugeRegion&) = delete;
    HugeRegion& operator=(const HugeRegion&) = delete;
    ~HugeRegion() { release(); }
    void* get() const { return p_; }

private:
    void release() {
        if (p_) huge_unmap(p_, bytes_);
        p_ = nullptr;
    }
    void* p_;
    std::size_t bytes_;
};

// An allocator that takes arrays of at least 1 MiB from huge_map(), rounded
// up to whole huge pages (at most 1 MiB more mapped than such an array
// holds, and only once it is written), and smaller ones from operator new.
// Which one is decided by the size alone, so deallocate() knows it.
template <typename T>
struct HugeAllocator {
    using value_type = T;
    static constexpr std::size_t kMinBytes = std::size_t{1} << 20;
    HugeAllocator() = default;
    template <typename U>
    HugeAllocator(const HugeAllocator<U>&) {}
    T* allocate(std::size_t n) {
        if (n * sizeof(T) >= kMinBytes) return static_cast<T*>(huge_map(huge_bytes(n)));
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T* p, std::size_t n) {
        if (n * sizeof(T) >= kMinBytes)
            huge_unmap(p, huge_bytes(n));
        else
            std::allocator<T>().deallocate(p, n);
    }
    template <typename U>
    bool operator==(const HugeAllocator<U>&) const {
        return true;
    }
    template <typename U>
    bool operator!=(const HugeAllocator<U>&) const {
        return false;
    }

private:
    static std::size_t huge_bytes(std::size_t n) { return huge_round(n * sizeof(T)); }
};

// Arrays that live and die together (a report's), bump-allocated from
// regions and released all at once with the arena: an array freed earlier
// is not reused, so every allocation is zeroed (huge_map's fresh memory).
// Regions of 2 MiB or more are in huge pages, and only the one being filled
// can have memory mapped that no array has written (the rest of the 2 MiB
// range last written): at most 2 MiB, where arrays in huge pages of their
// own would each round up to whole huge pages. A small arena (the report of
// a small capture) stays in small pages.
class HugeArena final : public std::pmr::memory_resource {
public:
    // `region_bytes`: what the arrays will take, roughly (a region is at
    // least that, or the one array asked for).
    explicit HugeArena(std::size_t region_bytes)
        : region_bytes_(region_bytes < kMinRegion ? kMinRegion : region_bytes) {}
    HugeArena(const HugeArena&) = delete;
    HugeArena& operator=(const HugeArena&) = delete;

private:
    static constexpr std::size_t kMinRegion = std::size_t{64} << 10;
    void* do_allocate(std::size_t bytes, std::size_t align) override;
    void do_deallocate(void*, std::size_t, std::size_t) override {}  // with the arena
    bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override { return this == &o; }
    std::size_t region_bytes_;
    std::vector<HugeRegion> regions_;
    std::size_t used_ = 0, size_ = 0;  // of the last region
};

template <typename T>
using HugeVector = std::vector<T, HugeAllocator<T>>;

}  // namespace triage
