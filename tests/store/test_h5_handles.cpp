// The RAII handles, the single check point and the UTF-8 repair behind every string.
#include "store/h5_handles.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "store/rows.hpp"
#include "store/utc_now.hpp"

namespace gilbench::store {
namespace {

TEST(H5Handle, MoveTransfersOwnershipAndResetCloses) {
    h5::dataspace a(H5Screate(H5S_SCALAR));
    const hid_t id = a.get();
    ASSERT_GT(H5Iis_valid(id), 0);
    h5::dataspace b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_EQ(b.get(), id);
    h5::dataspace c;
    c = std::move(b);
    EXPECT_EQ(c.get(), id);
    EXPECT_GT(H5Iis_valid(id), 0);
    c.reset();
    EXPECT_LE(H5Iis_valid(id), 0);
}

TEST(H5Handle, MoveAssignmentClosesTheOldId) {
    h5::dataspace a(H5Screate(H5S_SCALAR));
    h5::dataspace b(H5Screate(H5S_SCALAR));
    const hid_t old = a.get();
    a = std::move(b);
    EXPECT_LE(H5Iis_valid(old), 0);
}

TEST(H5Check, FailureCarriesCallObjectAndHdf5Message) {
    const h5::error_silencer quiet;
    // Use an in-memory file so the test touches no disk.
    h5::plist fapl(H5Pcreate(H5P_FILE_ACCESS));
    H5Pset_fapl_core(fapl.get(), 1 << 16, false);
    h5::file mem(H5Fcreate("in-memory.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
    ASSERT_TRUE(mem);
    try {
        h5::open_group(mem.get(), "no-such-group");
        FAIL() << "open_group did not throw";
    } catch (const std::runtime_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("H5Gopen2 failed for 'no-such-group'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("doesn't exist"), std::string::npos) << msg;
    }
}

TEST(H5ErrorSilencer, RestoresThePreviousHandler) {
    H5E_auto2_t before = nullptr;
    void* before_data = nullptr;
    H5Eget_auto2(H5E_DEFAULT, &before, &before_data);
    {
        const h5::error_silencer quiet;
        H5E_auto2_t inside = reinterpret_cast<H5E_auto2_t>(1);
        void* inside_data = nullptr;
        H5Eget_auto2(H5E_DEFAULT, &inside, &inside_data);
        EXPECT_EQ(inside, nullptr);
    }
    H5E_auto2_t after = nullptr;
    void* after_data = nullptr;
    H5Eget_auto2(H5E_DEFAULT, &after, &after_data);
    EXPECT_EQ(after, before);
    EXPECT_EQ(after_data, before_data);
}

TEST(Utf8, ValidTextIsKept) {
    EXPECT_TRUE(detail::is_valid_utf8(""));
    EXPECT_TRUE(detail::is_valid_utf8("take"));
    EXPECT_TRUE(detail::is_valid_utf8("café ☕ \xF0\x9F\x98\x80"));
    EXPECT_EQ(detail::to_valid_utf8("café"), "café");
}

TEST(Utf8, InvalidBytesBecomeReplacementCharacters) {
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_FALSE(detail::is_valid_utf8("\xff"));
    EXPECT_EQ(detail::to_valid_utf8("a\xff" "b"), "a" + fffd + "b");
    EXPECT_EQ(detail::to_valid_utf8("\xC3"), fffd);                       // truncated
    EXPECT_EQ(detail::to_valid_utf8("\xC0\xAF"), fffd + fffd);            // overlong '/'
    EXPECT_EQ(detail::to_valid_utf8("\xED\xA0\x80"), fffd + fffd + fffd);  // surrogate
    EXPECT_EQ(detail::to_valid_utf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // > U+10FFFF
}

TEST(StringArena, CopiesOnlyInvalidStrings) {
    detail::string_arena arena;
    const std::string good = "node-a";
    EXPECT_EQ(arena.utf8(good), good.c_str());  // no copy for the common case
    const std::string bad = "x\xfe";
    const char* repaired = arena.utf8(bad);
    EXPECT_NE(repaired, bad.c_str());
    EXPECT_STREQ(repaired, "x\xEF\xBF\xBD");
}

// An in-memory HDF5 file (core driver, never written to disk) for the attribute tests.
h5::file in_memory_file() {
    h5::plist fapl(H5Pcreate(H5P_FILE_ACCESS));
    H5Pset_fapl_core(fapl.get(), 1 << 16, false);
    return h5::file(H5Fcreate("attrs-in-memory.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
}

TEST(H5Attributes, TypedWritesReadBackWithTheirOnDiskTypes) {
    const h5::error_silencer quiet;
    h5::file f = in_memory_file();
    ASSERT_TRUE(f);
    const hid_t root = f.get();
    h5::write_int_attr(root, "ranks", 4);
    h5::write_int_array_attr(root, "cores", {8, 16});
    h5::write_int64_array_attr(root, "server_requests", {std::int64_t{1} << 40, 3});
    h5::write_string_array_attr(root, "hosts", {"a", "b\xc3\xa9"});
    h5::write_string_attr(root, "status", "running");
    EXPECT_EQ(h5::read_int_attr(root, "ranks"), 4);
    EXPECT_EQ(h5::read_int_array_attr(root, "cores"), (std::vector<int>{8, 16}));
    EXPECT_EQ(h5::read_int64_array_attr(root, "server_requests"),
              (std::vector<std::int64_t>{std::int64_t{1} << 40, 3}));
    EXPECT_EQ(h5::read_string_array_attr(root, "hosts"), (std::vector<std::string>{"a", "b\xc3\xa9"}));
    EXPECT_EQ(h5::read_string_attr(root, "status"), "running");
    // The stored types are the schema's: 32-bit and 64-bit little-endian integers.
    h5::attribute cores(H5Aopen(root, "cores", H5P_DEFAULT));
    h5::datatype cores_type(H5Aget_type(cores.get()));
    EXPECT_GT(H5Tequal(cores_type.get(), H5T_STD_I32LE), 0);
    h5::attribute requests(H5Aopen(root, "server_requests", H5P_DEFAULT));
    h5::datatype requests_type(H5Aget_type(requests.get()));
    EXPECT_GT(H5Tequal(requests_type.get(), H5T_STD_I64LE), 0);
}

TEST(H5Attributes, MissingReadsAsEmptyAndWrongKindThrows) {
    const h5::error_silencer quiet;
    h5::file f = in_memory_file();
    ASSERT_TRUE(f);
    const hid_t root = f.get();
    EXPECT_EQ(h5::read_int_attr(root, "nothing"), std::nullopt);
    EXPECT_TRUE(h5::read_int_array_attr(root, "nothing").empty());
    EXPECT_TRUE(h5::read_int64_array_attr(root, "nothing").empty());
    h5::write_string_attr(root, "text", "x");
    EXPECT_THROW(h5::read_int_attr(root, "text"), std::runtime_error);
    // Writing again replaces the attribute, even with another type or shape.
    h5::write_int_array_attr(root, "text", {});
    EXPECT_TRUE(h5::read_int_array_attr(root, "text").empty());
}

TEST(H5Dataspace, SizesAndFailuresAreChecked) {
    const h5::error_silencer quiet;
    EXPECT_EQ(h5::element_count(h5::scalar_space("s").get(), "s"), 1u);
    EXPECT_EQ(h5::element_count(h5::simple_space(5, "five").get(), "five"), 5u);
    h5::dataspace grow = h5::extendible_space(0, "table");
    hsize_t max = 0;
    ASSERT_EQ(H5Sget_simple_extent_dims(grow.get(), nullptr, &max), 1);
    EXPECT_EQ(max, H5S_UNLIMITED);
    try {
        h5::element_count(H5I_INVALID_HID, "no space");
        FAIL() << "element_count did not throw";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("H5Sget_simple_extent_npoints failed for 'no space'"),
                  std::string::npos)
            << e.what();
    }
}

TEST(UtcNow, IsIso8601ToTheSecondInUtc) {
    const std::string now = utc_now();
    ASSERT_EQ(now.size(), 20u) << now;
    for (std::size_t i : {4u, 7u}) EXPECT_EQ(now[i], '-') << now;
    EXPECT_EQ(now[10], 'T') << now;
    for (std::size_t i : {13u, 16u}) EXPECT_EQ(now[i], ':') << now;
    EXPECT_EQ(now.back(), 'Z') << now;
    EXPECT_EQ(now.substr(0, 2), "20") << now;
}

}  // namespace
}  // namespace gilbench::store
