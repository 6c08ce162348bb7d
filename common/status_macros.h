// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's Abseil 20220623 ships neither.
//
//   RETURN_IF_ERROR(file->Sync());
//   ASSIGN_OR_RETURN(auto segment, Segment::Open(path));
//   ASSIGN_OR_RETURN(header_, ParseHeader(bytes));
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FJORD_STATUS_CONCAT_INNER_(a, b) a##b
#define FJORD_STATUS_CONCAT_(a, b) FJORD_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// when it is not OK.
#define RETURN_IF_ERROR(expr)                                          \
  do {                                                                 \
    ::absl::Status fjord_status_ = (expr);                             \
    if (ABSL_PREDICT_FALSE(!fjord_status_.ok())) return fjord_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when it is
// not OK, otherwise moves the value into `lhs` (a declaration or an lvalue).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  FJORD_ASSIGN_OR_RETURN_IMPL_(FJORD_STATUS_CONCAT_(fjord_statusor_, __LINE__), lhs, rexpr)

#define FJORD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) {                \
    return std::move(statusor).status();                   \
  }                                                        \
  lhs = std::move(statusor).value()
