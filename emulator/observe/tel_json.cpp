#include "tel_json.h"

#include <rte_telemetry.h>

#include <cerrno>
#include <cstring>

namespace venic::observe {

namespace {

bool scalar(const nlohmann::json& v) {
  return v.is_number() || v.is_boolean() || v.is_string();
}

std::string cut(const std::string& s) {
  return s.substr(0, RTE_TEL_MAX_STRING_LEN - 1);
}

uint64_t as_u64(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return static_cast<uint64_t>(std::max<int64_t>(0, v.get<int64_t>()));
  if (v.is_number_float()) return static_cast<uint64_t>(std::max(0.0, v.get<double>()));
  return 0;
}

// One scalar into a dict.
int add_scalar(rte_tel_data* d, const std::string& name, const nlohmann::json& v) {
  if (v.is_string()) return rte_tel_data_add_dict_string(d, name.c_str(), cut(v.get<std::string>()).c_str());
  if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0)
    return rte_tel_data_add_dict_int(d, name.c_str(), static_cast<int>(std::max<int64_t>(INT32_MIN, v.get<int64_t>())));
  return rte_tel_data_add_dict_u64(d, name.c_str(), as_u64(v));
}

// An array of scalars (all strings, or numbers) as a container.
rte_tel_data* scalar_array(const nlohmann::json& a) {
  rte_tel_data* c = rte_tel_data_alloc();
  if (!c) return nullptr;
  const bool strings = !a.empty() && a.front().is_string();
  rte_tel_data_start_array(c, strings ? RTE_TEL_STRING_VAL : RTE_TEL_U64_VAL);
  for (auto& x : a) {
    if (x.is_string() != strings) continue;
    if (strings)
      rte_tel_data_add_array_string(c, cut(x.get<std::string>()).c_str());
    else
      rte_tel_data_add_array_u64(c, as_u64(x));
  }
  return c;
}

int add_container(rte_tel_data* d, const std::string& name, rte_tel_data* c) {
  if (!c) return -ENOMEM;
  int rc = rte_tel_data_add_dict_container(d, name.c_str(), c, 0);
  if (rc < 0) rte_tel_data_free(c);
  return rc < 0 ? rc : 0;
}

int add_value(rte_tel_data* d, const std::string& name, const nlohmann::json& v) {
  if (v.is_null()) return 0;
  if (scalar(v)) return add_scalar(d, name, v);
  if (v.is_object()) {
    bool flat = true;
    for (auto& x : v) flat = flat && (scalar(x) || x.is_null());
    if (flat) {
      rte_tel_data* c = rte_tel_data_alloc();
      if (!c) return -ENOMEM;
      rte_tel_data_start_dict(c);
      for (auto& [k, x] : v.items())
        if (!x.is_null()) add_scalar(c, tel_name(k), x);
      return add_container(d, name, c);
    }
    for (auto& [k, x] : v.items())
      if (int rc = add_value(d, name + "_" + tel_name(k), x); rc < 0) return rc;
    return 0;
  }
  // An array.
  if (v.empty() || scalar(v.front())) return add_container(d, name, scalar_array(v));
  if (v.front().is_object()) {
    for (auto& [k, first] : v.front().items()) {
      if (!scalar(first)) continue;
      nlohmann::json column = nlohmann::json::array();
      for (auto& row : v) column.push_back(row.is_object() && row.contains(k) ? row[k] : nlohmann::json(0));
      if (int rc = add_container(d, name + "_" + tel_name(k), scalar_array(column)); rc < 0) return rc;
    }
  }
  return 0;
}

}  // namespace

std::string tel_name(const std::string& s) {
  std::string out = cut(s);
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '/') c = '_';
  return out;
}

int json_to_tel_dict(const nlohmann::json& obj, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  if (!obj.is_object()) return -EINVAL;
  for (auto& [k, v] : obj.items())
    if (int rc = add_value(d, tel_name(k), v); rc < 0) return rc;
  return 0;
}

}  // namespace venic::observe
