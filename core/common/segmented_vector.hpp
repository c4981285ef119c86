// SegmentedVector<T>: an append-only array whose elements never move, so other threads may read
// an element while one thread appends. Connections are added while drivers read their records
// from their own threads; a std::vector would reallocate under them.
//
// Storage is a fixed array of segments of doubling size (2^B, 2^(B+1), ...), so an index maps to
// (segment, offset) with one bit scan and no lock, a small table costs one small segment, and a
// large one wastes at most its unused tail (never touched, so not resident). `size()` is
// published with release order after the new element is built: a reader that sees an index
// below size() sees the element complete.
//
// Threading: one writer (append, grow_to) at a time; any number of readers of elements below
// size(). An element's own fields are the caller's to synchronise.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <utility>

namespace oemlink {

template <class T, unsigned kFirstSegmentBits = 10>
class SegmentedVector {
  static constexpr size_t kFirst = size_t{1} << kFirstSegmentBits;
  // Enough segments for any 32-bit index.
  static constexpr unsigned kSegments = 33 - kFirstSegmentBits;

 public:
  SegmentedVector() = default;
  SegmentedVector(const SegmentedVector&) = delete;
  SegmentedVector& operator=(const SegmentedVector&) = delete;
  ~SegmentedVector() { clear_all(); }

  // [any-thread]
  size_t size() const { return size_.load(std::memory_order_acquire); }
  bool empty() const { return size() == 0; }
  static constexpr size_t max_size() { return size_t{UINT32_MAX}; }

  // [any-thread] i < size().
  T& operator[](size_t i) { return *locate(i); }
  const T& operator[](size_t i) const { return *locate(i); }

  // [writer] Builds an element at the end (default-constructed, then `init(element)`), then
  // publishes it. Returns its index.
  template <class Init>
  size_t append(Init&& init) {
    size_t i = size_.load(std::memory_order_relaxed);
    T* p = slot_for_append(i);
    new (p) T();
    init(*p);
    size_.store(i + 1, std::memory_order_release);
    return i;
  }
  template <class... Args>
  size_t emplace_back(Args&&... args) {
    size_t i = size_.load(std::memory_order_relaxed);
    T* p = slot_for_append(i);
    new (p) T(std::forward<Args>(args)...);
    size_.store(i + 1, std::memory_order_release);
    return i;
  }
  // [writer] Appends default-constructed elements until size() >= n.
  void grow_to(size_t n) {
    while (size_.load(std::memory_order_relaxed) < n) emplace_back();
  }

  // Bytes of segments allocated (capacity * sizeof(T)); untouched pages are not resident.
  size_t allocated_bytes() const {
    size_t n = 0;
    for (unsigned s = 0; s < kSegments; ++s)
      if (segs_[s].load(std::memory_order_relaxed)) n += segment_size(s) * sizeof(T);
    return n;
  }

 private:
  static constexpr size_t segment_size(unsigned s) { return kFirst << s; }
  static unsigned segment_of(size_t i, size_t& offset) {
    size_t biased = i + kFirst;
    unsigned s = static_cast<unsigned>(std::bit_width(biased)) - 1 - kFirstSegmentBits;
    offset = biased - segment_size(s);
    return s;
  }
  T* locate(size_t i) const {
    size_t off;
    unsigned s = segment_of(i, off);
    return segs_[s].load(std::memory_order_acquire) + off;
  }
  T* slot_for_append(size_t i) {
    if (i >= max_size()) throw std::length_error("SegmentedVector: more than 2^32 elements");
    size_t off;
    unsigned s = segment_of(i, off);
    T* seg = segs_[s].load(std::memory_order_relaxed);
    if (!seg) {
      seg = static_cast<T*>(
          ::operator new (segment_size(s) * sizeof(T), std::align_val_t{alignof(T)}));
      segs_[s].store(seg, std::memory_order_release);
    }
    return seg + off;
  }
  void clear_all() {
    size_t n = size_.load(std::memory_order_relaxed);
    for (size_t i = 0; i < n; ++i) locate(i)->~T();
    for (unsigned s = 0; s < kSegments; ++s)
      if (T* seg = segs_[s].load(std::memory_order_relaxed))
        ::operator delete (seg, std::align_val_t{alignof(T)});
  }

  std::atomic<T*> segs_[kSegments] = {};
  std::atomic<size_t> size_{0};
};

}  // namespace oemlink
