// Helpers shared by storage/ tests: building batches with known contents.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "storage/record_batch_builder.h"

namespace fjord::storage::testing {

// A batch of `records` records with timestamp `timestamp_ms` and values
// tagged by `tag` (so tests can tell batches apart), value_size bytes each.
inline std::string MakeBatch(int records, int64_t timestamp_ms, const std::string& tag = "v",
                             size_t value_size = 16) {
  RecordBatchBuilder b;
  for (int i = 0; i < records; ++i) {
    std::string value = absl::StrCat(tag, "-", i, "-");
    value.resize(std::max(value.size(), value_size), '.');
    b.Append(timestamp_ms, absl::StrCat("k", i), value);
  }
  absl::StatusOr<std::string> batch = b.Build();
  FJORD_CHECK(batch.ok()) << batch.status();
  return *batch;
}

}  // namespace fjord::storage::testing
