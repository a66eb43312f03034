#include "runtime/interpreter/profile.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "runtime/core/shape.h"
#include "runtime/interpreter/interpreter.h"

namespace wisp {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::vector<OpProfileRow> ProfileRows(const Interpreter& interp) {
  const Model& m = interp.model();
  const std::vector<double>& ns = interp.op_time_ns();
  const int64_t runs = std::max<int64_t>(1, interp.profiled_runs());
  double total = 0;
  for (double t : ns) total += t;
  std::vector<OpProfileRow> rows;
  for (size_t i = 0; i < m.operators().size(); ++i) {
    const OperatorDesc& op = m.operators()[i];
    OpProfileRow r;
    r.op_index = static_cast<int32_t>(i);
    r.type = OpTypeName(op.type);
    if (!op.outputs.empty()) r.shape = ShapeToString(m.tensors()[op.outputs[0]].shape);
    r.implementation = interp.kernel_implementation(i);
    const double t = i < ns.size() ? ns[i] : 0;
    r.mean_us = t / 1000.0 / static_cast<double>(runs);
    r.share = total > 0 ? t / total : 0;
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string ProfileTable(std::vector<OpProfileRow> rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const OpProfileRow& a, const OpProfileRow& b) {
    return a.mean_us > b.mean_us;
  });
  std::string out;
  char line[512];
  std::snprintf(line, sizeof(line), "%5s  %-22s %-22s %-40s %10s %7s\n", "op", "type", "shape",
                "microkernel", "us", "share");
  out += line;
  double total = 0;
  for (const OpProfileRow& r : rows) {
    total += r.mean_us;
    std::snprintf(line, sizeof(line), "%5d  %-22s %-22s %-40s %10.1f %6.1f%%\n", r.op_index,
                  r.type.c_str(), r.shape.c_str(), r.implementation.c_str(), r.mean_us,
                  100.0 * r.share);
    out += line;
  }
  std::snprintf(line, sizeof(line), "%5s  %-22s %-22s %-40s %10.1f %6.1f%%\n", "", "total", "", "",
                total, 100.0);
  out += line;
  return out;
}

std::string ProfileJson(const std::vector<OpProfileRow>& rows, int64_t runs) {
  double total = 0;
  for (const OpProfileRow& r : rows) total += r.mean_us;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "{\"runs\":%" PRId64 ",\"total_us\":%.3f,\"ops\":[", runs, total);
  std::string out = buf;
  for (size_t i = 0; i < rows.size(); ++i) {
    const OpProfileRow& r = rows[i];
    if (i) out += ',';
    std::snprintf(buf, sizeof(buf), "{\"op\":%d,\"type\":", r.op_index);
    out += buf;
    out += JsonString(r.type) + ",\"shape\":" + JsonString(r.shape) +
           ",\"microkernel\":" + JsonString(r.implementation);
    std::snprintf(buf, sizeof(buf), ",\"us\":%.3f,\"share\":%.5f}", r.mean_us, r.share);
    out += buf;
  }
  return out + "]}";
}

}  // namespace wisp
