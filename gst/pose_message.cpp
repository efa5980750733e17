#include "gst/pose_message.h"

namespace sp::gst {
namespace {

// A GstValueArray of doubles.
GValue double_array(std::initializer_list<double> values) {
  GValue array = G_VALUE_INIT;
  g_value_init(&array, GST_TYPE_ARRAY);
  for (double v : values) {
    GValue item = G_VALUE_INIT;
    g_value_init(&item, G_TYPE_DOUBLE);
    g_value_set_double(&item, v);
    gst_value_array_append_and_take_value(&array, &item);
  }
  return array;
}

GValue person_value(const sparsepose::Person& p) {
  GstStructure* s = gst_structure_new("person", "id", G_TYPE_INT64, static_cast<gint64>(p.id), "score", G_TYPE_DOUBLE,
                                      static_cast<double>(p.score), nullptr);
  GValue box = double_array({p.box.x1, p.box.y1, p.box.x2, p.box.y2});
  gst_structure_take_value(s, "box", &box);
  GValue keypoints = G_VALUE_INIT;
  g_value_init(&keypoints, GST_TYPE_ARRAY);
  for (const sparsepose::Keypoint& k : p.keypoints) {
    GValue point = double_array({k.x, k.y, k.conf});
    gst_value_array_append_and_take_value(&keypoints, &point);
  }
  gst_structure_take_value(s, "keypoints", &keypoints);
  GValue value = G_VALUE_INIT;
  g_value_init(&value, GST_TYPE_STRUCTURE);
  g_value_take_boxed(&value, s);
  return value;
}

}  // namespace

GstStructure* pose_message_structure(const sparsepose::Result& r, const FrameContext& f) {
  GstStructure* s = gst_structure_new(
      kPoseMessageName, "frame", G_TYPE_UINT64, static_cast<guint64>(r.frame), "pts", G_TYPE_UINT64, f.pts,
      "running-time", G_TYPE_UINT64, f.running_time, "width", G_TYPE_INT, f.width, "height", G_TYPE_INT, f.height,
      "processed", G_TYPE_UINT64, f.processed, "dropped", G_TYPE_UINT64, f.dropped, "preprocess-ms", G_TYPE_DOUBLE,
      r.timing.preprocess_ms, "model-ms", G_TYPE_DOUBLE, r.timing.model_ms, "decode-ms", G_TYPE_DOUBLE, r.timing.decode_ms,
      "tracking-ms", G_TYPE_DOUBLE, r.timing.tracking_ms, nullptr);
  GValue persons = G_VALUE_INIT;
  g_value_init(&persons, GST_TYPE_ARRAY);
  for (const sparsepose::Person& p : r.persons) {
    GValue person = person_value(p);
    gst_value_array_append_and_take_value(&persons, &person);
  }
  gst_structure_take_value(s, "persons", &persons);
  return s;
}

}  // namespace sp::gst
