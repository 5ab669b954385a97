// population_report.h on a hand-made result of three members: the CSV rows (copies marked),
// the summary table and schedule, and the chart's series.
#include "knob/report/population_report.h"

#include <gtest/gtest.h>

namespace knob {
namespace {

EpochMetrics epoch(int64_t e, double lr, double accuracy, double loss) {
  EpochMetrics m;
  m.epoch = e;
  m.lr = lr;
  m.val_accuracy = accuracy;
  m.val_loss = loss;
  return m;
}

// Member 1 copies member 0 after epoch 1; member 2 diverged before training an epoch.
PopulationResult three_members() {
  PopulationResult r;
  r.members.resize(3);
  r.members[0].history = {epoch(0, 0.01, 0.5, 1.25), epoch(1, 0.01, 0.75, 0.5)};
  r.members[1].history = {epoch(0, 0.001, 0.25, 2.0), epoch(1, 0.0012, 0.8125, 0.375)};
  Exploit copy;
  copy.member = 1;
  copy.source = 0;
  copy.epoch = 1;
  r.members[1].lineage = {copy};
  r.members[2].stop_reason = "diverged";
  r.best = 1;
  r.best_schedule = {0.01, 0.0012};
  return r;
}

TEST(PopulationReportTest, CsvHasARowPerMemberAndEpoch) {
  EXPECT_EQ(population_csv(three_members()),
            "member,epoch,lr,val_accuracy,val_loss,copied_from\n"
            "0,0,0.01,0.5,1.25,\n"
            "0,1,0.01,0.75,0.5,\n"
            "1,0,0.001,0.25,2,\n"
            "1,1,0.0012,0.8125,0.375,0\n");
  EXPECT_EQ(population_csv(PopulationResult()),
            "member,epoch,lr,val_accuracy,val_loss,copied_from\n");
}

TEST(PopulationReportTest, SummaryMarksTheBestAndDivergedAndListsTheSchedule) {
  EXPECT_EQ(population_summary(three_members()),
            "member        final val_accuracy  final val_loss  final lr  copied from\n"
            "---------------------------------------------------------------------------\n"
            "0             0.75                0.5             0.01      -\n"
            "1 (best)      0.8125              0.375           0.0012    0 after epoch 1\n"
            "2 (diverged)  -                   -               -         -\n"
            "\n"
            "lr schedule of the best member's lineage (member 1):\n"
            "  epoch   1  lr 0.01\n"
            "  epoch   2  lr 0.0012\n");
}

TEST(PopulationReportTest, ChartHasADashedLinePerMemberAndTheBestLineage) {
  Chart chart = population_lr_chart(three_members());
  ASSERT_EQ(chart.series().size(), 4u);
  EXPECT_EQ(chart.series()[0].name(), "member 0");
  EXPECT_TRUE(chart.series()[0].dashed());
  EXPECT_EQ(chart.series()[0].x(), (std::vector<double>{1, 2}));
  EXPECT_EQ(chart.series()[1].y(), (std::vector<double>{0.001, 0.0012}));
  EXPECT_TRUE(chart.series()[2].x().empty());
  EXPECT_EQ(chart.series()[3].name(), "best lineage (member 1)");
  EXPECT_FALSE(chart.series()[3].dashed());
  EXPECT_EQ(chart.series()[3].y(), (std::vector<double>{0.01, 0.0012}));
  EXPECT_EQ(chart.y_axis().scale(), AxisScale::kLog10);
  EXPECT_NE(to_svg(chart).find("best lineage (member 1)"), std::string::npos);
}

}  // namespace
}  // namespace knob
