// Packed weights shared by the interpreters of one model: what a kernel's Prepare packs is looked
// up in, and published to, the interpreter's PreparedWeights store (when it has one), so that
// interpreters running the same model side by side keep one copy.
#pragma once

#include <memory>
#include <string>

#include "runtime/interpreter/kernel.h"
#include "runtime/interpreter/prepared_weights.h"

namespace wisp {

// What `pack` makes for this operator, or the copy another interpreter already published under
// `what`.
template <typename T, typename Pack>
std::shared_ptr<const T> Shared(const KernelContext& ctx, const std::string& what,
                                const Pack& pack) {
  PreparedWeights* store = ctx.options().shared_weights;
  if (store != nullptr) {
    if (auto found = store->Find(ctx.op_index(), what))
      return std::static_pointer_cast<const T>(found);
  }
  auto made = std::make_shared<const T>(pack());
  if (store == nullptr) return made;
  return std::static_pointer_cast<const T>(store->Publish(ctx.op_index(), what, made));
}

}  // namespace wisp
