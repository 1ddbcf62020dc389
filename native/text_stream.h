// The text released to the user as tokens arrive: never splits a UTF-8 character that later bytes
// may complete, and holds back any tail that could be the start of a stop string. Plain C++ (no
// Napi, no llama.cpp): test/unit/text_stream_test.cc compiles it alone.
#pragma once
#include <string>
#include <vector>

namespace smolvlm {

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stops = {}) : stops_(std::move(stops)) {}
  /** [sync] Appends a token's bytes; returns what can be released now. Sets `stopped` on a stop string. */
  std::string Push(const std::string &piece, bool &stopped);
  /** [sync] Releases everything held back (end of generation). */
  std::string Flush();

 private:
  std::vector<std::string> stops_;
  std::string buf_;
};

}  // namespace smolvlm
