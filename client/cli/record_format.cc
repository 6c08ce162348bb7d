#include "client/cli/record_format.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace fjord::cli {

absl::StatusOr<RecordFormatter> RecordFormatter::Parse(std::string_view format) {
  RecordFormatter formatter;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) formatter.pieces_.push_back({0, std::move(literal)});
    literal.clear();
  };
  for (size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c != '%' && c != '\\') {
      literal.push_back(c);
      continue;
    }
    if (i + 1 == format.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("format string ends with a lone '", std::string(1, c), "'"));
    }
    const char next = format[++i];
    if (c == '\\') {
      switch (next) {
        case 'n':
          literal.push_back('\n');
          break;
        case 't':
          literal.push_back('\t');
          break;
        case 'r':
          literal.push_back('\r');
          break;
        case '\\':
          literal.push_back('\\');
          break;
        default:
          return absl::InvalidArgumentError(
              absl::StrCat("unknown escape '\\", std::string(1, next), "' in format string"));
      }
      continue;
    }
    switch (next) {
      case '%':
        literal.push_back('%');
        break;
      case 'k':
      case 'v':
      case 'o':
      case 'p':
      case 't':
      case 'T':
      case 'h':
      case 'K':
      case 'S':
        flush();
        formatter.pieces_.push_back({next, ""});
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("unknown directive '%", std::string(1, next),
                         "' in format string (known: %k %v %o %p %t %T %h %K %S %%)"));
    }
  }
  flush();
  return formatter;
}

void RecordFormatter::Format(const client::ConsumerRecord& record, std::string& out) const {
  for (const Piece& piece : pieces_) {
    switch (piece.directive) {
      case 0:
        out += piece.text;
        break;
      case 'k':
        if (record.key) out += *record.key;
        break;
      case 'v':
        if (record.value) out += *record.value;
        break;
      case 'o':
        absl::StrAppend(&out, record.offset);
        break;
      case 'p':
        absl::StrAppend(&out, record.partition);
        break;
      case 't':
        absl::StrAppend(&out, record.timestamp);
        break;
      case 'T':
        out += record.topic;
        break;
      case 'K':
        absl::StrAppend(&out, record.key ? static_cast<int64_t>(record.key->size()) : -1);
        break;
      case 'S':
        absl::StrAppend(&out, record.value ? static_cast<int64_t>(record.value->size()) : -1);
        break;
      case 'h': {
        bool first = true;
        for (const auto& [key, value] : record.headers) {
          if (!first) out += ',';
          first = false;
          absl::StrAppend(&out, key, "=", value.value_or(""));
        }
        break;
      }
    }
  }
}

std::string RecordToJson(const client::ConsumerRecord& record) {
  nlohmann::json headers = nlohmann::json::array();
  for (const auto& [key, value] : record.headers) {
    headers.push_back({{"key", key}, {"value", value ? nlohmann::json(*value) : nlohmann::json()}});
  }
  nlohmann::json json = {
      {"topic", record.topic},
      {"partition", record.partition},
      {"offset", record.offset},
      {"timestamp", record.timestamp},
      {"key", record.key ? nlohmann::json(*record.key) : nlohmann::json()},
      {"value", record.value ? nlohmann::json(*record.value) : nlohmann::json()},
      {"headers", headers},
  };
  // Records carry arbitrary bytes: replace invalid UTF-8 rather than throw.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fjord::cli
