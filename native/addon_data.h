// Per-environment state (the main thread and each worker thread have their own): the classes'
// constructors, which jobs use to build a Model or an Engine when they settle.
#pragma once
#include <napi.h>

namespace smolvlm {

struct AddonData {
  Napi::FunctionReference model_ctor;
  Napi::FunctionReference engine_ctor;
};

}  // namespace smolvlm
