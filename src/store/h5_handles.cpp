#include "store/h5_handles.hpp"

#include <algorithm>
#include <stdexcept>

namespace gilbench::store::h5 {

namespace {

// The entries of an error stack, outermost (the API call) first.
struct stack_entries {
    std::vector<std::string> descriptions;
};

herr_t collect_error(unsigned, const H5E_error2_t* err, void* out_ptr) {
    std::string desc = err->desc != nullptr ? err->desc : "";
    if (desc.empty()) {
        // Some entries carry only the minor message ("Unable to open file").
        char minor[128] = {};
        if (H5Eget_msg(err->min_num, nullptr, minor, sizeof minor) > 0) desc = minor;
    }
    // HDF5 puts ctime()-style text with a newline into some descriptions; messages stay
    // one line.
    for (char& c : desc) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    if (!desc.empty()) static_cast<stack_entries*>(out_ptr)->descriptions.push_back(desc);
    return 0;
}

[[noreturn]] void fail(std::string_view call, std::string_view object) {
    std::string stack = error_stack();
    std::string msg;
    msg.append(call).append(" failed for '").append(object).append("'");
    if (!stack.empty()) msg.append(": ").append(stack);
    throw std::runtime_error(msg);
}

// A file access property list shared by create and open. Locking stays on (a second writer
// is refused) but is skipped where the file system has no flock (some Lustre/NFS mounts),
// instead of refusing to write results at all.
plist file_access(std::string_view path) {
    plist fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate(H5P_FILE_ACCESS)", path));
    check(H5Pset_file_locking(fapl.get(), true, true), "H5Pset_file_locking", path);
    // Default (earliest) format bounds on purpose: h5py of any age reads the file, and the
    // superblock has no "open for writing" flag, so a file left by a killed run reopens
    // without h5clear.
    return fapl;
}

attribute create_attr(hid_t loc, const char* name, hid_t type, hid_t space) {
    if (check_tri(H5Aexists(loc, name), "H5Aexists", name)) {
        check(H5Adelete(loc, name), "H5Adelete", name);
    }
    return attribute(check_id(H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT),
                              "H5Acreate2", name));
}

// An empty handle when the attribute does not exist.
attribute open_attr_if_exists(hid_t loc, const char* name) {
    if (!check_tri(H5Aexists(loc, name), "H5Aexists", name)) return attribute();
    return attribute(check_id(H5Aopen(loc, name, H5P_DEFAULT), "H5Aopen", name));
}

dataspace attr_space(const attribute& attr, const char* name) {
    return dataspace(check_id(H5Aget_space(attr.get()), "H5Aget_space", name));
}

// A 1-D numeric attribute: `file_type` on disk, written from `mem_type` elements.
template <class T>
void write_numeric_array_attr(hid_t loc, const char* name, hid_t file_type, hid_t mem_type,
                              const std::vector<T>& values) {
    dataspace space = simple_space(values.size(), name);
    attribute attr = create_attr(loc, name, file_type, space.get());
    // An empty list is a valid zero-length attribute; there is nothing to write.
    if (!values.empty()) check(H5Awrite(attr.get(), mem_type, values.data()), "H5Awrite", name);
}

template <class T>
std::vector<T> read_numeric_array_attr(hid_t loc, const char* name, hid_t mem_type) {
    std::vector<T> out;
    attribute attr = open_attr_if_exists(loc, name);
    if (!attr) return out;
    out.resize(element_count(attr_space(attr, name).get(), name));
    if (!out.empty()) check(H5Aread(attr.get(), mem_type, out.data()), "H5Aread", name);
    return out;
}

}  // namespace

error_silencer::error_silencer() noexcept {
    if (H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_) >= 0) {
        saved_ = true;
        (void)H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
}

error_silencer::~error_silencer() {
    if (saved_) (void)H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_);
}

std::string error_stack() {
    stack_entries entries;
    // H5Ewalk2 does not clear the stack it walks, so this sees the failed call's entries.
    (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &entries);
    const auto& d = entries.descriptions;
    if (d.empty()) return "";
    // The outermost entry says what the call was doing, the innermost why it failed
    // ("truncated file: eof = ...", "errno = 13, error message = 'Permission denied'");
    // the ones between only repeat the outer one.
    if (d.size() == 1 || d.front() == d.back()) return d.front();
    return d.front() + ": " + d.back();
}

hid_t check_id(hid_t id, std::string_view call, std::string_view object) {
    if (id < 0) fail(call, object);
    return id;
}

herr_t check(herr_t status, std::string_view call, std::string_view object) {
    if (status < 0) fail(call, object);
    return status;
}

bool check_tri(htri_t result, std::string_view call, std::string_view object) {
    if (result < 0) fail(call, object);
    return result > 0;
}

void keep_exit_handler_off() noexcept { (void)H5dont_atexit(); }

std::string library_version() {
    unsigned major = 0, minor = 0, release = 0;
    check(H5get_libversion(&major, &minor, &release), "H5get_libversion", "HDF5 library");
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

std::optional<bool> is_hdf5(const std::string& path, std::string* why) {
    const htri_t r = H5Fis_hdf5(path.c_str());
    if (r < 0) {
        if (why != nullptr) *why = error_stack();
        return std::nullopt;
    }
    return r > 0;
}

file create_file(const std::string& path) {
    plist fapl = file_access(path);
    return file(check_id(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()),
                         "H5Fcreate", path));
}

file open_file_rw(const std::string& path) {
    plist fapl = file_access(path);
    return file(check_id(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), "H5Fopen", path));
}

void flush(hid_t file_id, std::string_view path) {
    check(H5Fflush(file_id, H5F_SCOPE_GLOBAL), "H5Fflush", path);
}

std::optional<int> posix_fd(hid_t file_id) {
    void* handle = nullptr;
    if (H5Fget_vfd_handle(file_id, H5P_DEFAULT, &handle) < 0 || handle == nullptr) {
        (void)H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    return *static_cast<int*>(handle);
}

dataspace scalar_space(std::string_view what) {
    return dataspace(check_id(H5Screate(H5S_SCALAR), "H5Screate(H5S_SCALAR)", what));
}

dataspace simple_space(hsize_t n, std::string_view what) {
    return dataspace(check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", what));
}

dataspace extendible_space(hsize_t n, std::string_view what) {
    const hsize_t unlimited = H5S_UNLIMITED;
    return dataspace(check_id(H5Screate_simple(1, &n, &unlimited), "H5Screate_simple", what));
}

hsize_t element_count(hid_t space, std::string_view what) {
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n < 0) check(-1, "H5Sget_simple_extent_npoints", what);
    return static_cast<hsize_t>(n);
}

void vlen_reclaim(hid_t type, hsize_t n, void* buf, std::string_view what) {
    if (n == 0) return;
    dataspace space = simple_space(n, what);
    check(H5Dvlen_reclaim(type, space.get(), H5P_DEFAULT, buf), "H5Dvlen_reclaim", what);
}

group create_group(hid_t loc, const std::string& name) {
    return group(check_id(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                          "H5Gcreate2", name));
}

group open_group(hid_t loc, const std::string& name) {
    return group(check_id(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), "H5Gopen2", name));
}

bool link_exists(hid_t loc, const std::string& name) {
    return check_tri(H5Lexists(loc, name.c_str(), H5P_DEFAULT), "H5Lexists", name);
}

void delete_link(hid_t loc, const std::string& name) {
    check(H5Ldelete(loc, name.c_str(), H5P_DEFAULT), "H5Ldelete", name);
}

std::vector<std::string> child_names(hid_t group_id, std::string_view group_name) {
    std::vector<std::string> names;
    auto add = [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
    };
    check(H5Literate(group_id, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, add, &names),
          "H5Literate", group_name);
    return names;
}

datatype vlen_utf8_string() {
    datatype t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", "H5T_C_S1"));
    check(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size", "variable-length string");
    check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset", "variable-length string");
    return t;
}

datatype create_compound(std::size_t size, std::string_view what) {
    return datatype(check_id(H5Tcreate(H5T_COMPOUND, size), "H5Tcreate(H5T_COMPOUND)", what));
}

void insert_member(hid_t compound, const char* name, std::size_t offset, hid_t member_type) {
    check(H5Tinsert(compound, name, offset, member_type), "H5Tinsert", name);
}

datatype packed_copy(hid_t type, std::string_view what) {
    datatype t(check_id(H5Tcopy(type), "H5Tcopy", what));
    check(H5Tpack(t.get()), "H5Tpack", what);
    return t;
}

void write_string_attr(hid_t loc, const char* name, const std::string& value) {
    datatype type = vlen_utf8_string();
    dataspace space = scalar_space(name);
    attribute attr = create_attr(loc, name, type.get(), space.get());
    const char* data[1] = {value.c_str()};
    check(H5Awrite(attr.get(), type.get(), data), "H5Awrite", name);
}

void write_string_array_attr(hid_t loc, const char* name, const std::vector<std::string>& values) {
    datatype type = vlen_utf8_string();
    dataspace space = simple_space(values.size(), name);
    attribute attr = create_attr(loc, name, type.get(), space.get());
    std::vector<const char*> data;
    data.reserve(values.size());
    for (const auto& v : values) data.push_back(v.c_str());
    // An empty list is a valid zero-length attribute; there is nothing to write.
    if (!data.empty()) check(H5Awrite(attr.get(), type.get(), data.data()), "H5Awrite", name);
}

void write_int_attr(hid_t loc, const char* name, int value) {
    dataspace space = scalar_space(name);
    attribute attr = create_attr(loc, name, H5T_STD_I32LE, space.get());
    check(H5Awrite(attr.get(), H5T_NATIVE_INT, &value), "H5Awrite", name);
}

void write_int_array_attr(hid_t loc, const char* name, const std::vector<int>& values) {
    write_numeric_array_attr(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT, values);
}

void write_int64_array_attr(hid_t loc, const char* name, const std::vector<std::int64_t>& values) {
    write_numeric_array_attr(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, values);
}

std::vector<std::string> read_string_array_attr(hid_t loc, const char* name) {
    std::vector<std::string> out;
    attribute attr = open_attr_if_exists(loc, name);
    if (!attr) return out;
    const hsize_t n = element_count(attr_space(attr, name).get(), name);
    if (n == 0) return out;
    datatype type = vlen_utf8_string();
    std::vector<char*> raw(static_cast<std::size_t>(n), nullptr);
    check(H5Aread(attr.get(), type.get(), raw.data()), "H5Aread", name);
    for (char* s : raw) out.emplace_back(s != nullptr ? s : "");
    vlen_reclaim(type.get(), n, raw.data(), name);
    return out;
}

std::optional<int> read_int_attr(hid_t loc, const char* name) {
    attribute attr = open_attr_if_exists(loc, name);
    if (!attr) return std::nullopt;
    datatype file_type(check_id(H5Aget_type(attr.get()), "H5Aget_type", name));
    if (H5Tget_class(file_type.get()) != H5T_INTEGER || element_count(attr_space(attr, name).get(), name) != 1)
        throw std::runtime_error(std::string("attribute '") + name + "' is not a single integer");
    int value = 0;
    check(H5Aread(attr.get(), H5T_NATIVE_INT, &value), "H5Aread", name);
    return value;
}

std::vector<int> read_int_array_attr(hid_t loc, const char* name) {
    return read_numeric_array_attr<int>(loc, name, H5T_NATIVE_INT);
}

std::vector<std::int64_t> read_int64_array_attr(hid_t loc, const char* name) {
    return read_numeric_array_attr<std::int64_t>(loc, name, H5T_NATIVE_INT64);
}

datatype common_members(hid_t full, hid_t stored, std::string_view what) {
    const std::size_t size = H5Tget_size(full);
    if (size == 0) check(-1, "H5Tget_size", what);
    datatype out = create_compound(size, what);
    const int n = H5Tget_nmembers(full);
    if (n < 0) check(-1, "H5Tget_nmembers", what);
    for (int i = 0; i < n; ++i) {
        const auto u = static_cast<unsigned>(i);
        char* name = H5Tget_member_name(full, u);
        if (name == nullptr) check(-1, "H5Tget_member_name", what);
        // A negative index is H5Tget_member_index's answer "no such member", not a failure.
        const bool present = name != nullptr && H5Tget_member_index(stored, name) >= 0;
        if (present) {
            datatype member(check_id(H5Tget_member_type(full, u), "H5Tget_member_type", what));
            insert_member(out.get(), name, H5Tget_member_offset(full, u), member.get());
        }
        H5free_memory(name);
    }
    return out;
}

std::optional<std::string> read_string_attr(hid_t loc, const char* name) {
    attribute attr = open_attr_if_exists(loc, name);
    if (!attr) return std::nullopt;
    datatype file_type(check_id(H5Aget_type(attr.get()), "H5Aget_type", name));
    dataspace space = attr_space(attr, name);
    if (H5Tget_class(file_type.get()) != H5T_STRING || element_count(space.get(), name) != 1) {
        throw std::runtime_error(std::string("attribute '") + name + "' is not a single string");
    }
    // The native copy keeps the stored character set, so no ASCII/UTF-8 conversion is asked.
    datatype mem_type(check_id(H5Tget_native_type(file_type.get(), H5T_DIR_DEFAULT),
                               "H5Tget_native_type", name));
    if (check_tri(H5Tis_variable_str(mem_type.get()), "H5Tis_variable_str", name)) {
        char* data[1] = {nullptr};
        check(H5Aread(attr.get(), mem_type.get(), data), "H5Aread", name);
        std::string value = data[0] != nullptr ? data[0] : "";
        vlen_reclaim(mem_type.get(), 1, data, name);
        return value;
    }
    // Fixed-length strings (as other tools may write them): trim the padding.
    std::string value(H5Tget_size(mem_type.get()), '\0');
    check(H5Aread(attr.get(), mem_type.get(), value.data()), "H5Aread", name);
    const auto end = value.find_last_not_of(std::string_view("\0 ", 2));
    value.resize(end == std::string::npos ? 0 : end + 1);
    return value;
}

table::table(hid_t loc, const std::string& name, std::string path, datatype row_type,
             hsize_t chunk_rows, compression compression)
    : row_type_(std::move(row_type)), path_(std::move(path)) {
    dataspace space = extendible_space(0, path_);
    plist dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(H5P_DATASET_CREATE)", path_));
    check(H5Pset_chunk(dcpl.get(), 1, &chunk_rows), "H5Pset_chunk", path_);
    if (compression == compression::gzip) {
        // Shuffle groups the bytes of same-typed columns, which helps gzip on numeric rows.
        // Level 1: every flush recompresses the last, partly filled chunk, and the faster
        // level gave nearly the same size on these rows.
        check(H5Pset_shuffle(dcpl.get()), "H5Pset_shuffle", path_);
        check(H5Pset_deflate(dcpl.get(), 1), "H5Pset_deflate", path_);
    }
    // On disk the row is packed: the C struct's alignment padding is not stored.
    datatype file_type = packed_copy(row_type_.get(), path_);
    dataset_ = dataset(check_id(H5Dcreate2(loc, name.c_str(), file_type.get(), space.get(),
                                           H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                                "H5Dcreate2", path_));
}

hid_t table::transfer_for(hsize_t n) {
    if (n <= transfer_rows_) return transfer_.get();
    if (!transfer_)
        transfer_ = plist(check_id(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate(H5P_DATASET_XFER)", path_));
    // Room for at least 64 rows, so a table that grows by a few rows a trial sets this once.
    const hsize_t rows = std::max<hsize_t>(n, 64);
    const std::size_t row_bytes = H5Tget_size(row_type_.get());
    check(H5Pset_buffer(transfer_.get(), static_cast<std::size_t>(rows) * row_bytes, nullptr, nullptr),
          "H5Pset_buffer", path_);
    transfer_rows_ = rows;
    return transfer_.get();
}

void table::append(const void* rows, hsize_t n) {
    if (n == 0) return;
    const hsize_t new_size = size_ + n;
    check(H5Dset_extent(dataset_.get(), &new_size), "H5Dset_extent", path_);
    try {
        dataspace file_space(check_id(H5Dget_space(dataset_.get()), "H5Dget_space", path_));
        check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &size_, nullptr, &n, nullptr),
              "H5Sselect_hyperslab", path_);
        dataspace mem_space = simple_space(n, path_);
        check(H5Dwrite(dataset_.get(), row_type_.get(), mem_space.get(), file_space.get(),
                       transfer_for(n), rows),
              "H5Dwrite", path_);
    } catch (...) {
        // Do not leave n rows of fill values that readers would take for data.
        (void)H5Dset_extent(dataset_.get(), &size_);
        throw;
    }
    size_ = new_size;
}

table table::open(hid_t loc, const std::string& name, std::string path, datatype row_type) {
    table t;
    t.row_type_ = std::move(row_type);
    t.path_ = std::move(path);
    t.dataset_ = dataset(check_id(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "H5Dopen2", t.path_));
    dataspace space(check_id(H5Dget_space(t.dataset_.get()), "H5Dget_space", t.path_));
    if (check(H5Sget_simple_extent_ndims(space.get()), "H5Sget_simple_extent_ndims", t.path_) != 1)
        throw std::runtime_error("'" + t.path_ + "' is not a 1-D table");
    check(H5Sget_simple_extent_dims(space.get(), &t.size_, nullptr), "H5Sget_simple_extent_dims", t.path_);
    return t;
}

void table::read(hid_t mem_type, void* out) const {
    if (size_ == 0) return;
    check(H5Dread(dataset_.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), "H5Dread", path_);
}

datatype table::stored_type() const {
    return datatype(check_id(H5Dget_type(dataset_.get()), "H5Dget_type", path_));
}

void table::write_at(hsize_t first, const void* rows, hsize_t n) {
    if (n == 0) return;
    if (first + n > size_) throw std::runtime_error("'" + path_ + "': write past the end of the table");
    dataspace file_space(check_id(H5Dget_space(dataset_.get()), "H5Dget_space", path_));
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &first, nullptr, &n, nullptr),
          "H5Sselect_hyperslab", path_);
    dataspace mem_space = simple_space(n, path_);
    check(H5Dwrite(dataset_.get(), row_type_.get(), mem_space.get(), file_space.get(), transfer_for(n), rows),
          "H5Dwrite", path_);
}

void table::truncate(hsize_t n) {
    if (n >= size_) return;
    check(H5Dset_extent(dataset_.get(), &n), "H5Dset_extent", path_);
    size_ = n;
}

}  // namespace gilbench::store::h5
