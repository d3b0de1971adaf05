// The one Catch2 main of the test suite, and a listener that counts skipped test cases.
//
// Catch2 v2 has no SKIP: a test that cannot run here (no ../shared, no AVX-512) warns
// "skipped: ..." and returns (SMOLVLM_REQUIRE_SHARED in test_util.hpp), and Catch2 counts
// it as passed. The listener counts the test cases that emitted such a warning and did not
// fail, and ends the run with one line that scripts/test.sh adds up:
//   smolvlm-tests: P passed, F failed, K skipped
// P counts the test cases that ran and passed (a [!mayfail] case that failed as expected
// counts as passed), F the failed ones, K the skipped ones; P + F + K = test cases run.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cstdint>

namespace {

struct skip_counter : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;

    void testCaseStarting(Catch::TestCaseInfo const& info) override {
        TestEventListenerBase::testCaseStarting(info);
        warned_skip_ = false;
    }
    bool assertionEnded(Catch::AssertionStats const& s) override {
        const Catch::AssertionResult& r = s.assertionResult;
        if (r.getResultType() == Catch::ResultWas::Warning && r.getMessage().rfind("skipped:", 0) == 0)
            warned_skip_ = true;
        return true;
    }
    void testCaseEnded(Catch::TestCaseStats const& s) override {
        const Catch::Counts& c = s.totals.testCases;
        if (warned_skip_ && c.failed == 0 && c.failedButOk == 0) ++skipped_;
        TestEventListenerBase::testCaseEnded(s);
    }
    void testRunEnded(Catch::TestRunStats const& s) override {
        const Catch::Counts& c = s.totals.testCases;
        stream << "smolvlm-tests: " << (c.passed + c.failedButOk - skipped_) << " passed, " << c.failed << " failed, "
               << skipped_ << " skipped\n";
        TestEventListenerBase::testRunEnded(s);
    }

private:
    bool warned_skip_ = false;
    std::uint64_t skipped_ = 0;
};

}  // namespace

CATCH_REGISTER_LISTENER(skip_counter)
