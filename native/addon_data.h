// Per-environment state (the main thread and each worker thread have their own).
#pragma once
#include <napi.h>

namespace smolvlm {

struct AddonData {
  Napi::FunctionReference model_ctor;
  Napi::FunctionReference engine_ctor;
};

}  // namespace smolvlm
