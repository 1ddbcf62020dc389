#include "text_stream.h"

#include <algorithm>
#include <utility>

namespace smolvlm {
namespace {

// Length of a UTF-8 sequence from its lead byte; 0 for a continuation or invalid byte.
size_t SeqLen(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return c >= 0xC2 ? 2 : 0;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return c <= 0xF4 ? 4 : 0;
  return 0;
}

// Moves `cut` back so that it does not fall inside a character that later bytes could complete.
// Invalid bytes are released as they are: a decoder replaces them the same way in any split.
size_t SafeCut(const std::string &s, size_t cut) {
  for (size_t back = 1; back <= 3 && back <= cut; back++) {
    unsigned char c = static_cast<unsigned char>(s[cut - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation: keep looking for the lead
    size_t len = SeqLen(c);
    return (len > back) ? cut - back : cut;
  }
  return cut;
}

}  // namespace

std::string TextStream::Push(const std::string &piece, bool &stopped) {
  buf_ += piece;
  size_t stop_at = std::string::npos;
  for (const auto &s : stops_) {
    if (s.empty()) continue;
    size_t p = buf_.find(s);
    if (p != std::string::npos && p < stop_at) stop_at = p;
  }
  if (stop_at != std::string::npos) {
    stopped = true;
    std::string out = buf_.substr(0, stop_at);
    buf_.clear();
    return out;
  }
  size_t hold = 0;
  for (const auto &s : stops_) {
    for (size_t k = std::min(s.size() - (s.empty() ? 0 : 1), buf_.size()); k > hold; k--) {
      if (buf_.compare(buf_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
    }
  }
  size_t cut = SafeCut(buf_, buf_.size() - hold);
  std::string out = buf_.substr(0, cut);
  buf_.erase(0, cut);
  return out;
}

std::string TextStream::Flush() { return std::exchange(buf_, {}); }

}  // namespace smolvlm
