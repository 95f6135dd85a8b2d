// Test-side readers that use the HDF5 C API directly and select table fields BY NAME, as
// h5py and pandas do, so a column stored under a wrong name or type fails here even if the
// writer's own row structs agree with themselves.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "store/h5_handles.hpp"

namespace gilbench::store::test {

inline hid_t ok(hid_t id, const std::string& what) {
    if (id < 0) throw std::runtime_error("test read failed: " + what);
    return id;
}

template <class T>
hid_t native_type() {
    if constexpr (std::is_same_v<T, std::int32_t>) return H5T_NATIVE_INT32;
    else if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
    else if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_NATIVE_UINT8;
    else if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
    else static_assert(sizeof(T) == 0, "no HDF5 type for T");
}

// A read-only open of the file, independent of the writer's handles.
inline h5::file open_ro(const std::string& path) {
    return h5::file(ok(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path));
}

inline h5::dataset open_dataset(hid_t file, const std::string& name) {
    return h5::dataset(ok(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "open dataset " + name));
}

inline hsize_t rows(hid_t ds) {
    h5::dataspace space(ok(H5Dget_space(ds), "get space"));
    hsize_t n = 0;
    ok(H5Sget_simple_extent_dims(space.get(), &n, nullptr), "dims");
    return n;
}

// One numeric field of a compound table, converted by HDF5 from whatever it is stored as.
template <class T>
std::vector<T> column(hid_t ds, const char* field) {
    h5::datatype mem(ok(H5Tcreate(H5T_COMPOUND, sizeof(T)), "compound"));
    ok(H5Tinsert(mem.get(), field, 0, native_type<T>()), std::string("insert ") + field);
    std::vector<T> out(rows(ds));
    if (!out.empty()) {
        ok(H5Dread(ds, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
           std::string("read field ") + field);
    }
    return out;
}

inline h5::datatype vlen_string() {
    h5::datatype t(ok(H5Tcopy(H5T_C_S1), "copy"));
    ok(H5Tset_size(t.get(), H5T_VARIABLE), "size");
    ok(H5Tset_cset(t.get(), H5T_CSET_UTF8), "cset");
    return t;
}

// One variable-length string field of a compound table.
inline std::vector<std::string> string_column(hid_t ds, const char* field) {
    h5::datatype str = vlen_string();
    h5::datatype mem(ok(H5Tcreate(H5T_COMPOUND, sizeof(char*)), "compound"));
    ok(H5Tinsert(mem.get(), field, 0, str.get()), std::string("insert ") + field);
    const hsize_t n = rows(ds);
    std::vector<char*> raw(n, nullptr);
    std::vector<std::string> out;
    if (n == 0) return out;
    ok(H5Dread(ds, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()),
       std::string("read field ") + field);
    for (char* s : raw) out.emplace_back(s != nullptr ? s : "");
    h5::dataspace space(ok(H5Screate_simple(1, &n, nullptr), "space"));
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, raw.data());
    return out;
}

// Field names of a compound dataset, in stored order.
inline std::vector<std::string> field_names(hid_t ds) {
    h5::datatype t(ok(H5Dget_type(ds), "type"));
    std::vector<std::string> names;
    const int n = H5Tget_nmembers(t.get());
    for (int i = 0; i < n; ++i) {
        char* name = H5Tget_member_name(t.get(), static_cast<unsigned>(i));
        names.emplace_back(name);
        H5free_memory(name);
    }
    return names;
}

// The stored type of one field (caller closes it through the handle).
inline h5::datatype field_type(hid_t ds, const char* field) {
    h5::datatype t(ok(H5Dget_type(ds), "type"));
    const int i = H5Tget_member_index(t.get(), field);
    if (i < 0) throw std::runtime_error(std::string("no field ") + field);
    return h5::datatype(ok(H5Tget_member_type(t.get(), static_cast<unsigned>(i)), "member type"));
}

inline bool attr_exists(hid_t file, const char* object, const char* name) {
    return H5Aexists_by_name(file, object, name, H5P_DEFAULT) > 0;
}

inline std::vector<std::string> string_array_attr(hid_t file, const char* object, const char* name) {
    h5::attribute a(ok(H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT),
                       std::string("open attribute ") + name));
    h5::dataspace space(ok(H5Aget_space(a.get()), "attr space"));
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    h5::datatype str = vlen_string();
    std::vector<char*> raw(static_cast<std::size_t>(n), nullptr);
    std::vector<std::string> out;
    if (n == 0) return out;
    ok(H5Aread(a.get(), str.get(), raw.data()), std::string("read attribute ") + name);
    for (char* s : raw) out.emplace_back(s != nullptr ? s : "");
    H5Dvlen_reclaim(str.get(), space.get(), H5P_DEFAULT, raw.data());
    return out;
}

inline std::string string_attr(hid_t file, const char* object, const char* name) {
    const auto v = string_array_attr(file, object, name);  // a scalar reads as one element
    if (v.size() != 1) throw std::runtime_error(std::string("attribute ") + name + " not scalar");
    return v[0];
}

inline int int_attr(hid_t file, const char* object, const char* name) {
    h5::attribute a(ok(H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT),
                       std::string("open attribute ") + name));
    int v = 0;
    ok(H5Aread(a.get(), H5T_NATIVE_INT, &v), std::string("read attribute ") + name);
    return v;
}

}  // namespace gilbench::store::test
