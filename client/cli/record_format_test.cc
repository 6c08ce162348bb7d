#include "client/cli/record_format.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

client::ConsumerRecord Sample() {
  client::ConsumerRecord record;
  record.topic = "orders";
  record.partition = 2;
  record.offset = 41;
  record.timestamp = 1700000000123;
  record.key = "k1";
  record.value = "hello";
  record.headers = {{"a", "1"}, {"b", std::nullopt}};
  return record;
}

std::string FormatWith(std::string_view format, const client::ConsumerRecord& record) {
  auto formatter = RecordFormatter::Parse(format);
  EXPECT_TRUE(formatter.ok()) << formatter.status();
  std::string out;
  if (formatter.ok()) formatter->Format(record, out);
  return out;
}

TEST(RecordFormatterTest, EveryDirectiveAndEscape) {
  EXPECT_EQ(FormatWith("%T/%p@%o %t [%k=%v] {%h} %K %S 100%%\\t|\\n\\\\", Sample()),
            "orders/2@41 1700000000123 [k1=hello] {a=1,b=} 2 5 100%\t|\n\\");
}

TEST(RecordFormatterTest, NullKeyAndValuePrintNothingAndLengthMinusOne) {
  client::ConsumerRecord record = Sample();
  record.key.reset();
  record.value.reset();
  EXPECT_EQ(FormatWith("<%k><%v> %K %S", record), "<><> -1 -1");
}

TEST(RecordFormatterTest, RejectsUnknownDirectivesAndDanglingEscapes) {
  for (const char* bad : {"%x", "%", "abc\\", "\\q"}) {
    auto formatter = RecordFormatter::Parse(bad);
    EXPECT_EQ(formatter.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(RecordFormatterTest, JsonHasEveryFieldAndNullsForMissingKey) {
  client::ConsumerRecord record = Sample();
  record.key.reset();
  EXPECT_EQ(RecordToJson(record),
            R"({"headers":[{"key":"a","value":"1"},{"key":"b","value":null}],"key":null,)"
            R"("offset":41,"partition":2,"timestamp":1700000000123,"topic":"orders",)"
            R"("value":"hello"})");
}

TEST(RecordFormatterTest, JsonReplacesInvalidUtf8InsteadOfFailing) {
  client::ConsumerRecord record = Sample();
  record.value = std::string("\xff\xfe", 2);
  EXPECT_NE(RecordToJson(record).find("\"value\":\"\xEF\xBF\xBD\xEF\xBF\xBD\""), std::string::npos)
      << RecordToJson(record);
}

}  // namespace
}  // namespace fjord::cli
