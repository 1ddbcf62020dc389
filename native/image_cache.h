// Encoded-image cache: projector outputs keyed by image content hash and tile, bounded by bytes,
// least recently used evicted first. A second question about the same image, in any request or
// conversation on the same model, skips the vision encoder. Thread-safe (engines share a model).
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace smolvlm {

class ImageCache {
 public:
  using Embedding = std::shared_ptr<const std::vector<float>>;
  struct Stats {
    uint64_t hits = 0, misses = 0, evictions = 0, encodes = 0;
    size_t bytes = 0, entries = 0, max_bytes = 0;
  };

  // Every method is [sync] and thread-safe (one mutex, held for a map operation).
  explicit ImageCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  /** nullptr on a miss (counted), or when disabled (max 0: nothing is counted as a hit). */
  Embedding Get(const std::string &key);
  /** Keeps `embd` under `key` (an empty key: not cacheable), evicting the least recently used. */
  void Put(const std::string &key, std::vector<float> embd);
  /** Counts tiles the vision encoder encoded (stats). */
  void CountEncodes(uint64_t n);
  /** Resizes (0 disables), evicting what no longer fits. */
  void SetMaxBytes(size_t max_bytes);
  /** Drops every entry (the counters stay). */
  void Clear();
  Stats stats();

 private:
  void EvictLocked();
  struct Entry {
    std::string key;
    Embedding embd;
  };
  std::mutex mu_;
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  Stats stats_;
};

}  // namespace smolvlm
