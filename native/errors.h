// Typed errors. Codes are stable API, mirrored by lib/errors.ts. No Napi here: these are thrown on
// any thread (jobs, the engine thread) and turned into JS errors on the JS thread by js.h.
#pragma once
#include <stdexcept>
#include <string>

namespace smolvlm {

namespace code {
inline constexpr const char *MODEL_NOT_FOUND = "ERR_MODEL_NOT_FOUND";      // file missing
inline constexpr const char *MODEL_UNREADABLE = "ERR_MODEL_UNREADABLE";    // permission, directory, I/O
inline constexpr const char *NOT_GGUF = "ERR_NOT_GGUF";                    // bad magic
inline constexpr const char *MODEL_INVALID = "ERR_MODEL_INVALID";          // truncated, corrupt, unsupported
inline constexpr const char *PROJECTOR_MISMATCH = "ERR_PROJECTOR_MISMATCH";
inline constexpr const char *NO_VISION = "ERR_NO_VISION";                  // image given, no projector
inline constexpr const char *CONTEXT_FULL = "ERR_CONTEXT_FULL";
inline constexpr const char *ABORTED = "ERR_ABORTED";
inline constexpr const char *DISPOSED = "ERR_DISPOSED";
inline constexpr const char *INVALID_ARGUMENT = "ERR_INVALID_ARGUMENT";
inline constexpr const char *IMAGE_INVALID = "ERR_IMAGE_INVALID";
inline constexpr const char *OUT_OF_MEMORY = "ERR_OUT_OF_MEMORY";
inline constexpr const char *RPC_UNAVAILABLE = "ERR_RPC_UNAVAILABLE";      // an rpc-server cannot be reached, or was lost
inline constexpr const char *INTERNAL = "ERR_INTERNAL";                    // our bug (e.g. a malformed native option)
}  // namespace code

/** A failure with a stable code. */
struct Error : std::runtime_error {
  std::string code;
  Error(std::string code_, const std::string &message) : std::runtime_error(message), code(std::move(code_)) {}
};

}  // namespace smolvlm
