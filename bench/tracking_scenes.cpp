// Identity on the synthetic scenes of tests/tracking_scenes.h (the ones the unit tests check): people
// in each scene, distinct IDs, ID switches, IDs on false positives. Prints a markdown table.
// Usage: bench_tracking_scenes
#include <cstdio>
#include <vector>

#include "tests/tracking_scenes.h"

int main() {
  using namespace sp::tracking;
  std::vector<scenes::Scene> all = {scenes::crossing_same_depth(), scenes::crossing_same_pose(),
                                    scenes::crossing_occluded()};
  for (int n : {1, 5, 15, 25}) all.push_back(scenes::occlusion_return(n));
  all.push_back(scenes::enter_and_leave());
  all.push_back(scenes::flicker());
  all.push_back(scenes::dropped_frames());
  std::printf("| scene | frames | people | IDs | ID switches | IDs on false positives | person-frames not detected | person-frames detected without an ID |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& s : all) {
    const scenes::SceneResult r = scenes::evaluate(s, TrackerOptions{}, PoseSmootherOptions{});
    std::printf("| %s | %d | %d | %d | %d | %d | %d | %d |\n", s.name.c_str(), r.frames, r.people, r.ids,
                r.id_switches, r.false_ids, r.undetected, r.without_id);
  }
  return 0;
}
