// The generated signal constants (signals.hpp). That each name is in the host's catalogue is
// checked by SdkSignalsHeaderMatchesHostCatalogue; these check the header's own promises.
#include <oemlink/signals.hpp>

#include <gtest/gtest.h>

#include <iterator>

namespace oemlink::test {
namespace {

// Usable at compile time, so a driver can static_assert its mapping (in every build, sanitizers
// included: by index, since GCC does not fold pointer comparisons under -fsanitize=undefined).
static_assert(signals::known("speed"));
static_assert(signals::all[signals::index_of("speed")].unit == "km/h");
static_assert(!signals::known("warpFactor"));

TEST(SdkSignals, FindReturnsTheConstantOrNothing) {
  ASSERT_NE(signals::find("speed"), nullptr);
  EXPECT_EQ(signals::find("speed"), &signals::all[signals::index_of("speed")]);
  EXPECT_EQ(signals::find("warpFactor"), nullptr);
  EXPECT_EQ(signals::index_of("warpFactor"), signals::count);
}

TEST(SdkSignals, ConstantsCarryNameUnitAndKind) {
  EXPECT_EQ(signals::speed.name, "speed");
  EXPECT_EQ(signals::speed.unit, "km/h");
  EXPECT_EQ(signals::speed.kind, signals::Kind::number);
  EXPECT_EQ(signals::powertrainTractionBatteryStateOfChargeCurrent.unit, "percent");
  EXPECT_EQ(signals::chassisAxleRow1WheelLeftTirePressure.unit, "kPa");
}

TEST(SdkSignals, EachKindMapsToTheReadingThatCarriesIt) {
  EXPECT_EQ(signals::speed.value_kind(), OEMLINK_VALUE_NUMBER);
  EXPECT_EQ(signals::powertrainTractionBatteryChargingIsCharging.kind, signals::Kind::boolean);
  EXPECT_EQ(signals::powertrainTractionBatteryChargingIsCharging.value_kind(),
            OEMLINK_VALUE_NUMBER);
  EXPECT_EQ(signals::currentLocationCoordinates.value_kind(), OEMLINK_VALUE_LOCATION);
  EXPECT_EQ(signals::aDASActiveAutonomyLevel.value_kind(), OEMLINK_VALUE_STRING);
}

TEST(SdkSignals, AllIsSortedAndFindFindsEveryOne) {
  ASSERT_GT(std::size(signals::all), 1000u);
  for (size_t i = 1; i < std::size(signals::all); ++i) {
    EXPECT_LT(signals::all[i - 1].name, signals::all[i].name) << "at " << i;
  }
  for (const signals::Signal& s : signals::all) {
    const signals::Signal* found = signals::find(s.name);
    ASSERT_NE(found, nullptr) << s.name;
    EXPECT_EQ(found->name, s.name);
  }
}

}  // namespace
}  // namespace oemlink::test
