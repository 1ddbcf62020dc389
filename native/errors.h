// Typed errors crossing the native boundary. Codes are stable API, mirrored by lib/errors.ts.
#pragma once
#include <napi.h>
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
inline constexpr const char *INTERNAL = "ERR_INTERNAL";
}  // namespace code

/** A failure with a stable code; thrown on worker threads, turned into a JS Error on the JS thread. */
struct Error : std::runtime_error {
  std::string code;
  Error(std::string code_, const std::string &message) : std::runtime_error(message), code(std::move(code_)) {}
};

inline Napi::Error ToJsError(Napi::Env env, const std::string &code, const std::string &message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

inline Napi::Error ToJsError(Napi::Env env, const Error &e) { return ToJsError(env, e.code, e.what()); }

/** Throws an ERR_INVALID_ARGUMENT JS error from the JS thread. */
[[noreturn]] inline void ThrowInvalid(Napi::Env env, const std::string &message) {
  throw ToJsError(env, code::INVALID_ARGUMENT, message);
}

}  // namespace smolvlm
