// PersistentMap<K, V>: an immutable map with structural sharing, the backing
// store of MetadataImage.
//
// Keys are spread over kShards shards by a deterministic hash (ShardOf); each
// shard is a std::map held by shared_ptr<const>. Copying a map copies
// kShards pointers; changing one key through an Editor copies one shard (about
// size()/kShards entries) and shares every other shard with the base. So a new
// image after one topic change costs O(kShards + size/kShards), not O(size).
//
// Iteration order (ForEach) is deterministic: shard by shard, keys sorted
// within a shard. It is not globally sorted; callers that emit records in key
// order use SortedKeys().
//
// Thread safety: a PersistentMap is immutable and may be read from any number
// of threads. An Editor belongs to one thread and is never shared.
#pragma once

#include <algorithm>
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/assert.h"
#include "controller/uuid.h"

namespace fjord::controller {

// Value equality that looks through shared_ptr, so two images built apart
// compare equal when their contents are.
template <typename T>
bool DeepEquals(const T& a, const T& b) {
  return a == b;
}
template <typename T>
bool DeepEquals(const std::shared_ptr<const T>& a, const std::shared_ptr<const T>& b) {
  return a == b || (a != nullptr && b != nullptr && *a == *b);
}

// Deterministic shard functions: never absl::Hash or std::hash, whose values
// may differ between processes.
inline uint64_t ShardHash(const Uuid& u) { return u.high ^ (u.low * 0x9E3779B97F4A7C15ULL); }
inline uint64_t ShardHash(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

template <typename K, typename V>
class PersistentMap {
 public:
  static constexpr size_t kShards = 256;
  using Shard = std::map<K, V>;

  PersistentMap() = default;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The value for `key`, or nullptr. Valid as long as this map lives.
  const V* Find(const K& key) const {
    const auto& shard = shards_[ShardOf(key)];
    if (shard == nullptr) return nullptr;
    auto it = shard->find(key);
    return it == shard->end() ? nullptr : &it->second;
  }

  // Calls f(const K&, const V&) for every entry in deterministic order.
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& shard : shards_) {
      if (shard == nullptr) continue;
      for (const auto& [k, v] : *shard) f(k, v);
    }
  }

  std::vector<K> SortedKeys() const {
    std::vector<K> keys;
    keys.reserve(size_);
    ForEach([&](const K& k, const V&) { keys.push_back(k); });
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  // Value equality (through shared_ptr values: see DeepEquals).
  friend bool operator==(const PersistentMap& a, const PersistentMap& b) {
    if (a.size_ != b.size_) return false;
    for (size_t i = 0; i < kShards; ++i) {
      const Shard* sa = a.shards_[i].get();
      const Shard* sb = b.shards_[i].get();
      if (sa == sb) continue;
      size_t na = sa == nullptr ? 0 : sa->size();
      size_t nb = sb == nullptr ? 0 : sb->size();
      if (na != nb) return false;
      if (na == 0) continue;
      if (!std::equal(sa->begin(), sa->end(), sb->begin(), [](const auto& x, const auto& y) {
            return x.first == y.first && DeepEquals(x.second, y.second);
          })) {
        return false;
      }
    }
    return true;
  }

  // Copy-on-write editor of a map it does not own. Shards it has copied
  // belong to the editor and are edited in place until Share(), after which
  // copies of the map may exist elsewhere and the next write copies again.
  class Editor {
   public:
    explicit Editor(PersistentMap* map) : map_(map) {}

    void Set(const K& key, V value) {
      Shard& shard = Mutable(ShardOf(key));
      auto [it, inserted] = shard.insert_or_assign(key, std::move(value));
      if (inserted) ++map_->size_;
    }
    // Returns false if the key was absent.
    bool Erase(const K& key) {
      size_t index = ShardOf(key);
      const auto& shard = map_->shards_[index];
      if (shard == nullptr || shard->count(key) == 0) return false;
      Mutable(index).erase(key);
      --map_->size_;
      return true;
    }
    // Call before the map is copied: owned shards become shared.
    void Share() { owned_.reset(); }

   private:
    Shard& Mutable(size_t index) {
      auto& slot = map_->shards_[index];
      if (!owned_[index]) {
        slot = slot == nullptr ? std::make_shared<Shard>() : std::make_shared<Shard>(*slot);
        owned_[index] = true;
      }
      // Safe: this editor created the shard and no other map shares it yet.
      return const_cast<Shard&>(*slot);
    }

    PersistentMap* map_;
    std::bitset<kShards> owned_;
  };

 private:
  static size_t ShardOf(const K& key) { return ShardHash(key) % kShards; }

  std::array<std::shared_ptr<const Shard>, kShards> shards_{};
  size_t size_ = 0;
};

}  // namespace fjord::controller
