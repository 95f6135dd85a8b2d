// The RAII handles, the single check point and the UTF-8 repair behind every string.
#include "store/h5_handles.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "store/rows.hpp"

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

}  // namespace
}  // namespace gilbench::store
