// Weights that Prepare derives from a model (packed panels, folded biases) shared by every
// interpreter of the same model: a server runs several interpreters of one model side by side,
// each with its own arena, and they need only one copy of the packed weights. Kernels look their
// data up by (operator index, what) before packing, and publish what they packed. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace wisp {

class PreparedWeights {
 public:
  // The object stored for (op, what), or null.
  std::shared_ptr<const void> Find(int op, const std::string& what) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = items_.find({op, what});
    return it == items_.end() ? nullptr : it->second;
  }
  // Stores `item` unless one is there already; returns the one kept.
  std::shared_ptr<const void> Publish(int op, const std::string& what,
                                      std::shared_ptr<const void> item) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = items_.emplace(std::make_pair(op, what), std::move(item));
    return it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<int, std::string>, std::shared_ptr<const void>> items_;
};

}  // namespace wisp
