// Writes Fjord-built RecordBatch v2 files for a Kafka client to decode
// (kafka_decodes_fjord_batches_test.sh runs kafka-python over them).
//
//   write_batches_for_kafka OUT_DIR
//
// For each codec it writes <codec>.bin and <codec>.txt (the same .txt format
// as testdata/make_golden_batches.py).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "storage/record_batch_builder.h"

namespace fjord::storage {
namespace {

std::string Enc(std::optional<std::string_view> b) {
  return b ? absl::StrCat("x", absl::BytesToHexString(absl::string_view(b->data(), b->size())))
           : "-";
}

int Main(const std::string& dir) {
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                        Compression::kLz4, Compression::kZstd}) {
    BatchOptions options{.compression = c,
                         .transactional = c == Compression::kGzip,
                         .producer_id = ProducerId(4242),
                         .producer_epoch = ProducerEpoch(3),
                         .base_sequence = 100,
                         .base_offset = Offset(1000),
                         .partition_leader_epoch = LeaderEpoch(17)};
    RecordBatchBuilder b(options);
    std::string txt;
    const std::vector<std::string> values = {"", std::string(300, 'v'), std::string(20000, 'w')};
    std::vector<std::string> lines;
    for (int i = 0; i < 40; ++i) {
      const int64_t ts = 1700000000000 + (i * 37) % 11;
      const std::string key = absl::StrCat("key-", i);
      std::optional<std::string_view> k =
          i % 7 == 3 ? std::nullopt : std::optional<std::string_view>(key);
      const std::string value = i < 3 ? values[i] : absl::StrCat("value ", i, " of fjord");
      std::optional<std::string_view> v =
          i % 9 == 5 ? std::nullopt : std::optional<std::string_view>(value);
      std::vector<RecordHeader> headers;
      if (i % 3 == 0) headers.push_back({"trace", "abc"});
      if (i % 4 == 0) headers.push_back({"nullable", std::nullopt});
      b.Append(ts, k, v, headers);
      std::string line =
          absl::StrCat("record ", i, " ", ts, " ", Enc(k), " ", Enc(v), " ", headers.size());
      for (const RecordHeader& h : headers)
        absl::StrAppend(&line, " ", Enc(h.key), " ", Enc(h.value));
      lines.push_back(line);
    }
    absl::StatusOr<std::string> batch = b.Build();
    if (!batch.ok()) {
      std::fprintf(stderr, "%s\n", batch.status().ToString().c_str());
      return 1;
    }
    absl::StrAppend(&txt, "header base_offset 1000\nheader partition_leader_epoch 17\n",
                    "header compression ", static_cast<int>(c), "\nheader transactional ",
                    options.transactional ? 1 : 0,
                    "\nheader producer_id 4242\nheader producer_epoch 3\n",
                    "header base_sequence 100\nheader record_count 40\n");
    for (const std::string& l : lines) absl::StrAppend(&txt, l, "\n");
    const std::string base = absl::StrCat(dir, "/", CompressionName(c));
    std::ofstream(base + ".bin", std::ios::binary) << *batch;
    std::ofstream(base + ".txt") << txt;
  }
  return 0;
}

}  // namespace
}  // namespace fjord::storage

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  return fjord::storage::Main(argv[1]);
}
