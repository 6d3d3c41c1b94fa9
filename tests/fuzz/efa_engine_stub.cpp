// What control_methods.cpp links of the EFA engine, for fuzz builds whose
// clang cannot compile efa_engine.cpp (see CMakeLists.txt).  The control
// fuzzer passes no engine, so none of these is ever called.
#include <cstdlib>

#include "efa_engine.h"

namespace venic::efa {

// The key function and the other virtuals: the vtable and the type info that
// UBSan's vptr checks name.
EfaEngine::~EfaEngine() = default;
void EfaEngine::on_table(const vf::VfTable&) {
  std::abort();
}
void EfaEngine::tick() {
  std::abort();
}
uint32_t EfaEngine::poll() {
  std::abort();
}

nlohmann::json EfaEngine::call(const std::string&, const nlohmann::json&, uint64_t, pid_t, int64_t, std::vector<int>&,
                               uint64_t) {
  std::abort();
}
nlohmann::json EfaEngine::vf_stats(uint16_t) const {
  std::abort();
}
void EfaEngine::close_session(uint64_t) {
  std::abort();
}

}  // namespace venic::efa
