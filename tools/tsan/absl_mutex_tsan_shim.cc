// Makes Debian's Abseil mutexes visible to ThreadSanitizer.
//
// Debian builds libabsl without -fsanitize=thread, and absl::Mutex blocks
// on futexes rather than pthread calls, so under --config=tsan every access
// guarded by an absl::Mutex looked like a data race. This library is
// LD_PRELOADed (by run_with_shim.sh, through --run_under) ahead of
// libabsl_synchronization: it defines the public entry points of
// absl::Mutex and absl::CondVar, forwards each to the real one found with
// dlsym(RTLD_NEXT), and tells TSAN about the happens-before edges:
// release before a mutex is given up, acquire once it is held again.
// Reader locks are treated like writer locks (a slight over-approximation).
//
// Also turns off Abseil's deadlock detection (see below).
//
// Test-only tooling: never linked into a Fjord binary.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"

namespace {

template <typename Fn>
Fn Real(const char* mangled) {
  void* symbol = dlsym(RTLD_NEXT, mangled);
  if (symbol == nullptr) {
    std::fprintf(stderr, "absl tsan shim: %s not found\n", mangled);
    std::abort();
  }
  return reinterpret_cast<Fn>(symbol);
}

// Abseil's own deadlock detection keeps a graph under an internal spinlock
// that TSAN cannot see either; TSAN detects lock-order inversions itself, so
// switch Abseil's off for the whole process.
__attribute__((constructor)) void DisableAbseilDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

void Acquired(const void* mu) { __tsan_acquire(const_cast<void*>(mu)); }
void Releasing(const void* mu) { __tsan_release(const_cast<void*>(mu)); }

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

// Forwards a void member function with no arguments, annotating after it.
#define FJORD_SHIM_ACQUIRE(method, mangled)             \
  void Mutex::method() {                                \
    static auto real = Real<void (*)(Mutex*)>(mangled); \
    real(this);                                         \
    Acquired(this);                                     \
  }
#define FJORD_SHIM_RELEASE(method, mangled)             \
  void Mutex::method() {                                \
    static auto real = Real<void (*)(Mutex*)>(mangled); \
    Releasing(this);                                    \
    real(this);                                         \
  }
#define FJORD_SHIM_TRY(method, mangled)                 \
  bool Mutex::method() {                                \
    static auto real = Real<bool (*)(Mutex*)>(mangled); \
    const bool held = real(this);                       \
    if (held) Acquired(this);                           \
    return held;                                        \
  }

FJORD_SHIM_ACQUIRE(Lock, "_ZN4absl7debian35Mutex4LockEv")
FJORD_SHIM_ACQUIRE(ReaderLock, "_ZN4absl7debian35Mutex10ReaderLockEv")
FJORD_SHIM_RELEASE(Unlock, "_ZN4absl7debian35Mutex6UnlockEv")
FJORD_SHIM_RELEASE(ReaderUnlock, "_ZN4absl7debian35Mutex12ReaderUnlockEv")
FJORD_SHIM_TRY(TryLock, "_ZN4absl7debian35Mutex7TryLockEv")
FJORD_SHIM_TRY(ReaderTryLock, "_ZN4absl7debian35Mutex13ReaderTryLockEv")

void Mutex::LockWhen(const Condition& cond) {
  static auto real =
      Real<void (*)(Mutex*, const Condition&)>("_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  real(this, cond);
  Acquired(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static auto real = Real<void (*)(Mutex*, const Condition&)>(
      "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  real(this, cond);
  Acquired(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const bool result = real(this, cond, timeout);
  Acquired(this);  // held on return either way
  return result;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const bool result = real(this, cond, deadline);
  Acquired(this);
  return result;
}

void Mutex::Await(const Condition& cond) {
  static auto real =
      Real<void (*)(Mutex*, const Condition&)>("_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  Releasing(this);
  real(this, cond);
  Acquired(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Releasing(this);
  const bool result = real(this, cond, timeout);
  Acquired(this);
  return result;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Releasing(this);
  const bool result = real(this, cond, deadline);
  Acquired(this);
  return result;
}

void CondVar::Wait(Mutex* mu) {
  static auto real = Real<void (*)(CondVar*, Mutex*)>("_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  Releasing(mu);
  real(this, mu);
  Acquired(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Duration)>(
      "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Releasing(mu);
  const bool result = real(this, mu, timeout);
  Acquired(mu);
  return result;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Time)>(
      "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  Releasing(mu);
  const bool result = real(this, mu, deadline);
  Acquired(mu);
  return result;
}

ABSL_NAMESPACE_END
}  // namespace absl
