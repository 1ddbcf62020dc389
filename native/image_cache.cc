#include "image_cache.h"

namespace smolvlm {

ImageCache::Embedding ImageCache::Get(const std::string &key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (max_bytes_ == 0 || key.empty()) return nullptr;
  auto it = index_.find(key);
  if (it == index_.end()) {
    stats_.misses++;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  stats_.hits++;
  return it->second->embd;
}

void ImageCache::Put(const std::string &key, std::vector<float> embd) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t size = embd.size() * sizeof(float);
  if (max_bytes_ == 0 || key.empty() || size > max_bytes_ || index_.count(key)) return;
  lru_.push_front({key, std::make_shared<const std::vector<float>>(std::move(embd))});
  index_[key] = lru_.begin();
  bytes_ += size;
  EvictLocked();
}

void ImageCache::EvictLocked() {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    const Entry &e = lru_.back();
    bytes_ -= e.embd->size() * sizeof(float);
    index_.erase(e.key);
    lru_.pop_back();
    stats_.evictions++;
  }
}

void ImageCache::CountEncodes(uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.encodes += n;
}

void ImageCache::SetMaxBytes(size_t max_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  max_bytes_ = max_bytes;
  EvictLocked();
}

void ImageCache::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  lru_.clear();
  index_.clear();
  bytes_ = 0;
}

ImageCache::Stats ImageCache::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.bytes = bytes_;
  s.entries = index_.size();
  s.max_bytes = max_bytes_;
  return s;
}

}  // namespace smolvlm
