// Loading ggml's backend modules from the addon's own folder, choosing the CPU variant ourselves:
// ggml scores variants by CPUID alone, which picks AMX/AVX-512 code on machines whose OS (or VM)
// has not enabled that register state, and the process dies of SIGILL. We check the OS first.
#pragma once
#include <string>
#include <vector>

namespace smolvlm::backends {

struct Info {
  std::string dir;                      // where the modules were looked for
  std::string cpu_variant;              // e.g. "haswell"; "builtin" for a static build
  std::vector<std::string> skipped;     // variants refused, with why
  std::vector<std::string> loaded;      // module files loaded
  std::string cpu_path;                 // the CPU module loaded (empty for a static build)
};

/** [sync] Loads once per process (idempotent). SMOLVLM_CPU_VARIANT forces a CPU variant. */
const Info &LoadAll();

/**
 * [sync] A function the loaded CPU module exports but does not list in its registry's
 * get_proc_address (ggml_threadpool_pause, for one); nullptr when it is not there.
 */
void *CpuSymbol(const char *name);

}  // namespace smolvlm::backends
