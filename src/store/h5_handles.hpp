// Internal to store/: move-only owners of HDF5 ids and the one place where raw C calls are
// checked. Every wrapper throws std::runtime_error naming the call, the object and HDF5's own
// error-stack message; nothing here prints (see error_silencer).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gilbench::store::h5 {

// Owns one hid_t and releases it with the matching H5?close. Copying would need H5Iinc_ref
// bookkeeping nobody here needs, so the type is move-only.
template <herr_t (*Close)(hid_t)>
class handle {
public:
    handle() noexcept = default;
    explicit handle(hid_t id) noexcept : id_(id) {}
    handle(handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
    handle& operator=(handle&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, H5I_INVALID_HID);
        }
        return *this;
    }
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    ~handle() { reset(); }

    hid_t get() const noexcept { return id_; }
    explicit operator bool() const noexcept { return id_ >= 0; }

    // A failed close cannot be reported from a destructor; HDF5 keeps its error stack and the
    // next checked call on the same file reports the real problem.
    void reset() noexcept {
        if (id_ >= 0) {
            (void)Close(id_);
            id_ = H5I_INVALID_HID;
        }
    }

private:
    hid_t id_ = H5I_INVALID_HID;
};

using file = handle<H5Fclose>;
using group = handle<H5Gclose>;
using dataset = handle<H5Dclose>;
using dataspace = handle<H5Sclose>;
using datatype = handle<H5Tclose>;
using plist = handle<H5Pclose>;
using attribute = handle<H5Aclose>;

// Turns off HDF5's automatic printing of error stacks for this thread while alive, and puts
// back whatever was set before (the library is thread-safe, so the setting is per thread).
class error_silencer {
public:
    error_silencer() noexcept;
    ~error_silencer();
    error_silencer(const error_silencer&) = delete;
    error_silencer& operator=(const error_silencer&) = delete;

private:
    H5E_auto2_t old_func_ = nullptr;
    void* old_data_ = nullptr;
    bool saved_ = false;
};

// HDF5's current error stack as one line: what the failed call was doing, then the
// innermost cause ("" if the stack is empty).
std::string error_stack();

// The single check point: a negative result throws "<call> failed for '<object>': <stack>".
hid_t check_id(hid_t id, std::string_view call, std::string_view object);
herr_t check(herr_t status, std::string_view call, std::string_view object);
bool check_tri(htri_t result, std::string_view call, std::string_view object);

// "1.10.8", from H5get_libversion (the library actually loaded, not the header).
std::string library_version();

// Stops HDF5 from closing what is left open from an exit handler of its own (H5dont_atexit);
// has an effect only before the library starts.
void keep_exit_handler_off() noexcept;

// Files. tri-state probe: nullopt when HDF5 cannot even read the file (message in *why).
std::optional<bool> is_hdf5(const std::string& path, std::string* why);
file create_file(const std::string& path);        // fails if the path exists
file open_file_rw(const std::string& path);
void flush(hid_t file_id, std::string_view path);
// The POSIX file descriptor under an open file; nullopt when it uses another driver (HDF5's
// error stack is cleared then: not being POSIX is no error).
std::optional<int> posix_fd(hid_t file_id);

// Dataspaces: a scalar, a fixed 1-D extent of n, and a 1-D extent of n that may grow without
// bound (for chunked tables).
dataspace scalar_space(std::string_view what);
dataspace simple_space(hsize_t n, std::string_view what);
dataspace extendible_space(hsize_t n, std::string_view what);
// Elements of a dataspace (1 for a scalar).
hsize_t element_count(hid_t space, std::string_view what);
// Hands back the variable-length data HDF5 allocated when it read n elements of `type` into
// `buf`.
void vlen_reclaim(hid_t type, hsize_t n, void* buf, std::string_view what);

// Groups and links.
group create_group(hid_t loc, const std::string& name);
group open_group(hid_t loc, const std::string& name);
bool link_exists(hid_t loc, const std::string& name);
void delete_link(hid_t loc, const std::string& name);
std::vector<std::string> child_names(hid_t group_id, std::string_view group_name);

// Types: a variable-length UTF-8 string type (h5py reads attributes of it as str).
datatype vlen_utf8_string();
datatype create_compound(std::size_t size, std::string_view what);
void insert_member(hid_t compound, const char* name, std::size_t offset, hid_t member_type);
datatype packed_copy(hid_t type, std::string_view what);

// Attributes (scalar or 1-D), one typed pair per kind of value; strings are variable-length
// UTF-8, int is H5T_STD_I32LE and int64 H5T_STD_I64LE on disk. Writing an existing attribute
// replaces it (delete + create), whatever its old type or shape. An enum goes through its
// to_string and is stored as a string.
void write_string_attr(hid_t loc, const char* name, const std::string& value);
void write_string_array_attr(hid_t loc, const char* name, const std::vector<std::string>& values);
void write_int_attr(hid_t loc, const char* name, int value);
void write_int_array_attr(hid_t loc, const char* name, const std::vector<int>& values);
void write_int64_array_attr(hid_t loc, const char* name, const std::vector<std::int64_t>& values);
// nullopt if the attribute does not exist; throws if it is not a scalar string.
std::optional<std::string> read_string_attr(hid_t loc, const char* name);
// Every element of a string attribute (a scalar gives one); empty if it does not exist.
std::vector<std::string> read_string_array_attr(hid_t loc, const char* name);
// nullopt if the attribute does not exist; throws if it is not one integer.
std::optional<int> read_int_attr(hid_t loc, const char* name);
// Every element (HDF5 converts from the stored integer type); empty if it does not exist.
std::vector<int> read_int_array_attr(hid_t loc, const char* name);
std::vector<std::int64_t> read_int64_array_attr(hid_t loc, const char* name);

// A copy of the memory compound `full` holding only the members that `stored` (a dataset's
// type) also has, at the same offsets: reading with it leaves the other members of the
// caller's struct as they were, so files from older writers read with their defaults.
datatype common_members(hid_t full, hid_t stored, std::string_view what);

// An extendible, chunked, gzip-compressed 1-D table of compound rows.
// How a table's chunks are stored.
enum class compression {
    none,  // as they are: a flush writes the last chunk's bytes, nothing more
    gzip,  // shuffled and deflated: smaller, but a flush recompresses the last chunk whole
};

class table {
public:
    table() = default;
    // Creates `name` under `loc` empty; `path` names it in messages ("/runs/run-000/workers").
    table(hid_t loc, const std::string& name, std::string path, datatype row_type,
          hsize_t chunk_rows, compression compression);
    // Opens the existing table `name` under `loc` to append to it (a resumed run).
    static table open(hid_t loc, const std::string& name, std::string path, datatype row_type);
    // Grows the dataset by n rows and writes them from `rows` (n packed rows of the row type).
    void append(const void* rows, hsize_t n);
    // Reads every row into `out` (size() elements of `mem_type`, which may name a subset of
    // the fields by name). Variable-length strings are the caller's to reclaim.
    void read(hid_t mem_type, void* out) const;
    // The stored row type (a dataset's own, as written).
    datatype stored_type() const;
    // Overwrites n rows starting at row `first` (first + n <= size()).
    void write_at(hsize_t first, const void* rows, hsize_t n);
    // Drops rows from the end: only n rows are kept.
    void truncate(hsize_t n);
    hsize_t size() const noexcept { return size_; }
    const std::string& path() const noexcept { return path_; }

private:
    // A transfer property list whose conversion buffers fit n rows. HDF5's default is 1 MiB
    // for each of the type-conversion and background buffers, allocated and zeroed by every
    // H5Dwrite that converts (ours do: the file row is packed); for the few rows of one trial
    // that was most of a trial's bookkeeping. Grown when a write needs more.
    hid_t transfer_for(hsize_t n);

    dataset dataset_;
    datatype row_type_;  // memory layout of one row
    hsize_t size_ = 0;
    std::string path_;
    plist transfer_;
    hsize_t transfer_rows_ = 0;  // rows transfer_'s buffers hold
};

}  // namespace gilbench::store::h5
