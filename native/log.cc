#include "log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "llama.h"
#include "mtmd-helper.h"
#include "mtmd.h"

namespace smolvlm::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::None)};
thread_local std::string t_errors;
thread_local ggml_log_level t_last = GGML_LOG_LEVEL_NONE;

void Callback(ggml_log_level level, const char *text, void *) {
  // CONT lines continue the previous message at its level.
  ggml_log_level effective = level == GGML_LOG_LEVEL_CONT ? t_last : level;
  if (level != GGML_LOG_LEVEL_CONT) t_last = level;
  if (effective == GGML_LOG_LEVEL_ERROR || effective == GGML_LOG_LEVEL_WARN) {
    if (t_errors.size() < 4096) t_errors += text;
  }
  int mapped = effective == GGML_LOG_LEVEL_ERROR  ? 3
               : effective == GGML_LOG_LEVEL_WARN ? 2
               : effective == GGML_LOG_LEVEL_INFO ? 1
                                                  : 0;
  if (mapped >= g_level.load(std::memory_order_relaxed)) {
    fputs(text, stderr);
    fflush(stderr);
  }
}

}  // namespace

Level ParseLevel(const std::string &name, Level fallback) {
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warn") return Level::Warn;
  if (name == "error") return Level::Error;
  if (name == "none" || name == "silent") return Level::None;
  return fallback;
}

void Install() {
  if (const char *env = std::getenv("SMOLVLM_LOG_LEVEL")) SetLevel(ParseLevel(env, Level::None));
  llama_log_set(Callback, nullptr);
  mtmd_log_set(Callback, nullptr);
  mtmd_helper_log_set(Callback, nullptr);
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }

void ClearLastError() { t_errors.clear(); }

std::string LastError() {
  std::string s = t_errors;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  // keep the last few lines: the most specific reason comes last
  size_t cut = s.size(), lines = 0;
  while (cut > 0 && lines < 3) {
    cut = s.rfind('\n', cut - 1);
    if (cut == std::string::npos) { cut = 0; break; }
    ++lines;
  }
  if (cut > 0) s = s.substr(cut + 1);
  return s;
}

}  // namespace smolvlm::log
