#include "broker/group/group_metrics.h"

#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace fjord::group {
namespace {

std::string Render(prometheus::Registry& r) {
  return prometheus::TextSerializer().Serialize(r.Collect());
}

TEST(GroupMetricsTest, LagPerPartitionAndSumPerGroupAndStaleSeriesGo) {
  auto registry = std::make_shared<prometheus::Registry>();
  GroupMetrics metrics(registry);
  metrics.Update({{"g", "t", 0, 5, 12}, {"g", "t", 1, 9, 9}, {"h", "u", 3, 1, -1}});
  const std::string text = Render(*registry);
  EXPECT_NE(text.find(R"(fjord_consumer_group_lag{group="g",partition="0",topic="t"} 7)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(fjord_consumer_group_lag{group="g",partition="1",topic="t"} 0)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(fjord_consumer_group_lag_sum{group="g"} 7)"), std::string::npos);
  // An unknown high watermark is not reported as a lag of 0.
  EXPECT_EQ(text.find(R"(group="h")"), std::string::npos);

  metrics.Update({{"g", "t", 1, 9, 15}});
  const std::string later = Render(*registry);
  EXPECT_EQ(later.find(R"(partition="0")"), std::string::npos) << later;
  EXPECT_NE(later.find(R"(fjord_consumer_group_lag_sum{group="g"} 6)"), std::string::npos);
  metrics.Update({});
  EXPECT_EQ(Render(*registry).find(R"(group="g")"), std::string::npos);
}

}  // namespace
}  // namespace fjord::group
