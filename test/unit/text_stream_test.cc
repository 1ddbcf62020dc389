// Driver for test/unit/text-stream.test.mjs: feeds byte pieces through native/text_stream.cc the
// way the engine does (one Push per token, Flush at the end unless a stop string ended it).
// One case per stdin line: `stops|pieces`, each a comma-separated list of hex strings ('-' is the
// empty string; an empty list is nothing at all).
// One answer per line: `stopped|chunks`: the index of the piece that hit a stop (-1: none) and
// the text released after each piece, then the flush (when not stopped), as hex.
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "text_stream.h"

namespace {

std::vector<std::string> HexList(const std::string &s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    std::string bytes;
    if (item == "-") item.clear();
    for (size_t i = 0; i + 1 < item.size(); i += 2) bytes += static_cast<char>(std::stoi(item.substr(i, 2), nullptr, 16));
    out.push_back(bytes);
  }
  return out;
}

std::string Hex(const std::string &bytes) {
  static const char *digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {digits[c >> 4], digits[c & 15]};
  return out;
}

}  // namespace

int main() {
  for (std::string line; std::getline(std::cin, line);) {
    const size_t bar = line.find('|');
    if (bar == std::string::npos) return 2;
    smolvlm::TextStream stream(HexList(line.substr(0, bar)));
    const std::vector<std::string> pieces = HexList(line.substr(bar + 1));
    std::vector<std::string> chunks;
    int stopped_at = -1;
    for (size_t i = 0; i < pieces.size() && stopped_at < 0; i++) {
      bool stopped = false;
      chunks.push_back(stream.Push(pieces[i], stopped));
      if (stopped) stopped_at = static_cast<int>(i);
    }
    if (stopped_at < 0) chunks.push_back(stream.Flush());
    std::cout << stopped_at << '|';
    for (size_t i = 0; i < chunks.size(); i++) std::cout << (i ? "," : "") << Hex(chunks[i]);
    std::cout << '\n';
  }
  return 0;
}
