#include "backends.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "ggml-backend.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif
#if defined(__linux__) && (defined(__x86_64__) || defined(__i386__))
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace fs = std::filesystem;

namespace smolvlm::backends {
namespace {

std::string AddonDir() {
#if defined(_WIN32)
  HMODULE module = nullptr;
  GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                     reinterpret_cast<LPCSTR>(&AddonDir), &module);
  char path[MAX_PATH];
  GetModuleFileNameA(module, path, MAX_PATH);
  return fs::path(path).parent_path().string();
#else
  Dl_info info{};
  if (dladdr(reinterpret_cast<void *>(&AddonDir), &info) && info.dli_fname) {
    return fs::path(info.dli_fname).parent_path().string();
  }
  return fs::current_path().string();
#endif
}

// Register state the OS has enabled (XCR0), which CPUID alone does not tell.
struct OsState {
  bool avx = true, avx512 = true, amx = true;
};

OsState QueryOsState() {
  OsState s;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  __cpuid(1, a, b, c, d);
  bool osxsave = (c >> 27) & 1;
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  s.avx = (xcr0 & 0x6) == 0x6;       // SSE + AVX state
  s.avx512 = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  s.amx = (xcr0 & 0x60000) == 0x60000;  // XTILECFG + XTILEDATA
#if defined(__linux__)
  // Linux also requires each process to ask for the AMX tile data state.
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (s.amx && syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) s.amx = false;
#endif
#endif
  return s;
}

// Which register state a ggml x86 CPU variant (ggml/src/CMakeLists.txt) needs from the OS.
const char *RefuseReason(const std::string &variant, const OsState &os) {
  static const char *kAvx512[] = {"skylakex", "cannonlake", "cascadelake", "icelake", "cooperlake", "zen4"};
  static const char *kAvx[] = {"sandybridge", "ivybridge", "piledriver", "haswell", "alderlake"};
  if (variant == "sapphirerapids") {
    if (!os.amx) return "AMX not enabled by the OS";
    if (!os.avx512) return "AVX-512 not enabled by the OS";
  }
  for (const char *v : kAvx512)
    if (variant == v && !os.avx512) return "AVX-512 not enabled by the OS";
  for (const char *v : kAvx)
    if (variant == v && !os.avx) return "AVX not enabled by the OS";
  return nullptr;
}

using ScoreFn = int (*)();

int ScoreOf(const fs::path &path) {
#if defined(_WIN32)
  HMODULE h = LoadLibraryW(path.wstring().c_str());
  if (!h) return 0;
  auto fn = reinterpret_cast<ScoreFn>(GetProcAddress(h, "ggml_backend_score"));
  int score = fn ? fn() : 0;
  FreeLibrary(h);
#else
  void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) return 0;
  auto fn = reinterpret_cast<ScoreFn>(dlsym(h, "ggml_backend_score"));
  int score = fn ? fn() : 0;
  dlclose(h);
#endif
  return score;
}

#if defined(_WIN32)
constexpr const char *kPrefix = "ggml-";
constexpr const char *kExt = ".dll";
#else
constexpr const char *kPrefix = "libggml-";
constexpr const char *kExt = ".so";
#endif

// GPU add-on packages live in folders of their own: the JS loader (lib/loader.ts) lists their
// modules in SMOLVLM_BACKEND_MODULES (path-list separated). Windows: read the OS environment,
// which process.env writes, not the C runtime's copy.
#if SMOLVLM_BACKEND_DL
std::vector<fs::path> ExtraModules() {
  std::vector<fs::path> out;
#if defined(_WIN32)
  wchar_t buf[32768];
  DWORD n = GetEnvironmentVariableW(L"SMOLVLM_BACKEND_MODULES", buf, 32768);
  if (n == 0 || n >= 32768) return out;
  std::wstring list(buf, n);
  constexpr wchar_t kSep = L';';
#else
  const char *env = std::getenv("SMOLVLM_BACKEND_MODULES");
  if (!env) return out;
  std::string list(env);
  constexpr char kSep = ':';
#endif
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(kSep, start);
    if (end == list.npos) end = list.size();
    if (end > start) out.emplace_back(list.substr(start, end - start));
    start = end + 1;
  }
  return out;
}
#endif

Info Load() {
  Info info;
  info.dir = AddonDir();
#if SMOLVLM_BACKEND_DL
  const OsState os = QueryOsState();
  const char *forced = std::getenv("SMOLVLM_CPU_VARIANT");
  const std::string cpu_prefix = std::string(kPrefix) + "cpu-";
  fs::path best_cpu, base_cpu;
  int best_score = 0;
  std::vector<fs::path> others;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(info.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0 || entry.path().extension() != kExt) continue;
    if (name == std::string(kPrefix) + "base" + kExt) continue;
    if (name == std::string(kPrefix) + "cpu" + kExt) { base_cpu = entry.path(); continue; }
    if (name.rfind(cpu_prefix, 0) != 0) { others.push_back(entry.path()); continue; }
    std::string variant = name.substr(cpu_prefix.size(), name.size() - cpu_prefix.size() - strlen(kExt));
    if (forced && variant != forced) continue;
    if (const char *why = RefuseReason(variant, os)) {
      info.skipped.push_back(variant + ": " + why);
      continue;
    }
    int score = ScoreOf(entry.path());
    if (score > best_score) {
      best_score = score;
      best_cpu = entry.path();
      info.cpu_variant = variant;
    }
  }
  // GPU and accelerator backends first (ggml orders devices by registration), then the CPU. A
  // module that does not initialise (no driver) is left out: the CPU takes its work.
  for (const auto &p : ExtraModules()) others.push_back(p);
  for (const auto &p : others) {
    if (ggml_backend_load(p.string().c_str())) info.loaded.push_back(p.filename().string());
    else info.skipped.push_back(p.filename().string() + ": did not load");
  }
  const fs::path cpu = !best_cpu.empty() ? best_cpu : base_cpu;
  if (!cpu.empty() && ggml_backend_load(cpu.string().c_str())) {
    info.loaded.push_back(cpu.filename().string());
    info.cpu_path = cpu.string();
    if (best_cpu.empty()) info.cpu_variant = "generic";
  }
#else
  info.cpu_variant = "builtin";
#endif
  return info;
}

}  // namespace

const Info &LoadAll() {
  static std::once_flag once;
  static Info info;
  std::call_once(once, [] { info = Load(); });
  return info;
}

void *CpuSymbol(const char *name) {
#if SMOLVLM_BACKEND_DL
  const Info &info = LoadAll();
  if (info.cpu_path.empty()) return nullptr;
#if defined(_WIN32)
  HMODULE h = GetModuleHandleW(fs::path(info.cpu_path).wstring().c_str());  // loaded already: no new reference
  return h ? reinterpret_cast<void *>(GetProcAddress(h, name)) : nullptr;
#else
  // RTLD_NOLOAD: the module ggml_backend_load opened (a reference more, never a second copy)
  void *h = dlopen(info.cpu_path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  return h ? dlsym(h, name) : nullptr;
#endif
#else
  (void)name;
  return nullptr;
#endif
}

}  // namespace smolvlm::backends
