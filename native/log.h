// Routes llama.cpp / ggml / mtmd logging: quiet by default, and the last error lines of the
// current thread are kept so a failed load can say why (llama.cpp returns only nullptr).
#pragma once
#include <string>

namespace smolvlm::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, None = 4 };

/** [sync] Installs the callback into llama.cpp and mtmd. Reads SMOLVLM_LOG_LEVEL once. */
void Install();
/** [sync] Lines at or above `level` are written to stderr. */
void SetLevel(Level level);
/** [sync] 'debug' | 'info' | 'warn' | 'error' | 'none' ('silent'); `fallback` for anything else. */
Level ParseLevel(const std::string &name, Level fallback);
/** [sync, any thread] Clears the calling thread's captured error text. */
void ClearLastError();
/** [sync, any thread] The calling thread's error/warning lines since the last clear, trimmed. */
std::string LastError();

}  // namespace smolvlm::log
