// How `fjord consume` prints a record: a kcat-style format string, or one
// JSON object per line.
//
//   %k key      %v value     %o offset     %p partition
//   %t timestamp (ms)        %T topic      %h headers (k=v,k=v)
//   %K key length, %S value length (-1 when null)
//   %% a percent sign;  \n \t \r \\ the usual escapes
//
// A null key or value prints as nothing in a format string and as JSON null.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/consumer.h"

namespace fjord::cli {

class RecordFormatter {
 public:
  // InvalidArgument for an unknown %-directive or escape, or a trailing % or \.
  static absl::StatusOr<RecordFormatter> Parse(std::string_view format);

  // Appends the formatted record to `out`.
  void Format(const client::ConsumerRecord& record, std::string& out) const;

 private:
  struct Piece {
    char directive = 0;  // 0: literal text
    std::string text;
  };
  std::vector<Piece> pieces_;
};

// {"topic":..,"partition":..,"offset":..,"timestamp":..,"key":..,"value":..,
//  "headers":[{"key":..,"value":..}]} on one line (invalid UTF-8 replaced).
std::string RecordToJson(const client::ConsumerRecord& record);

}  // namespace fjord::cli
