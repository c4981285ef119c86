#include "core/common/segmented_vector.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace oemlink {
namespace {

TEST(SegmentedVector, IndexesAcrossSegmentBoundariesKeepTheirValues) {
  SegmentedVector<uint64_t, 2> v;  // segments of 4, 8, 16, ...
  for (uint64_t i = 0; i < 1000; ++i) EXPECT_EQ(v.emplace_back(i * 7), i);
  ASSERT_EQ(v.size(), 1000u);
  for (uint64_t i = 0; i < 1000; ++i) ASSERT_EQ(v[i], i * 7) << i;
}

TEST(SegmentedVector, ElementsNeverMoveWhenItGrows) {
  SegmentedVector<std::string, 2> v;
  v.emplace_back("first");
  const std::string* first = &v[0];
  for (int i = 0; i < 10'000; ++i) v.emplace_back(std::to_string(i));
  EXPECT_EQ(&v[0], first);
  EXPECT_EQ(*first, "first");
  EXPECT_EQ(v[10'000], "9999");
}

TEST(SegmentedVector, AppendPublishesTheElementOnlyOnceInitialised) {
  struct Rec {
    std::string id;
    int instance = -1;
  };
  SegmentedVector<Rec, 3> v;
  size_t i = v.append([](Rec& r) {
    r.id = "c-1";
    r.instance = 4;
  });
  EXPECT_EQ(i, 0u);
  EXPECT_EQ(v[0].id, "c-1");
  EXPECT_EQ(v[0].instance, 4);
}

TEST(SegmentedVector, GrowToDefaultConstructsAtomics) {
  SegmentedVector<std::atomic<uint32_t>, 2> v;
  v.grow_to(37);
  ASSERT_EQ(v.size(), 37u);
  for (size_t i = 0; i < 37; ++i) EXPECT_EQ(v[i].load(), 0u);
  v.grow_to(10);  // never shrinks
  EXPECT_EQ(v.size(), 37u);
}

TEST(SegmentedVector, AllocatesAtMostTwiceWhatItHolds) {
  SegmentedVector<uint64_t, 4> v;
  EXPECT_EQ(v.allocated_bytes(), 0u);
  v.grow_to(17);
  EXPECT_EQ(v.allocated_bytes(), (16u + 32u) * sizeof(uint64_t));
  v.grow_to(100'000);
  EXPECT_LE(v.allocated_bytes(), 2 * 100'000 * sizeof(uint64_t) + 16 * sizeof(uint64_t));
}

// Readers on other threads index everything published so far while one thread appends: no
// element is ever seen half-built or moved (run under TSan/ASan by the lead's sanitizer presets).
TEST(SegmentedVector, ReadersSeeCompleteElementsWhileTheWriterAppends) {
  struct Rec {
    uint64_t a = 0;
    uint64_t b = 0;
  };
  SegmentedVector<Rec, 4> v;
  constexpr size_t kN = 200'000;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> bad{0}, reads{0};
  std::atomic<int> started{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      started.fetch_add(1);
      uint64_t seen = 0;
      // One last pass after the writer is done: a reader preempted for the whole append run
      // (a loaded machine) still reads, so `reads` says whether indexing works, not scheduling.
      for (bool last = false; !last;) {
        last = done.load();
        size_t n = v.size();
        if (n == 0) continue;
        for (size_t i = n > 64 ? n - 64 : 0; i < n; ++i) {
          const Rec& r = v[i];
          if (r.a != i || r.b != i * 3) bad.fetch_add(1);
          ++seen;
        }
      }
      reads.fetch_add(seen);
    });
  }
  // On a loaded machine the appends can finish before a reader thread is first scheduled; the
  // readers must be running while the writer appends, or the test reads nothing.
  while (started.load() < 2) std::this_thread::yield();
  for (size_t i = 0; i < kN; ++i)
    v.append([i](Rec& r) {
      r.a = i;
      r.b = i * 3;
    });
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(v.size(), kN);
}

}  // namespace
}  // namespace oemlink
