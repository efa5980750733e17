#include "gst/pose_meta.h"

#include <gst/video/video.h>

namespace sp::gst {
namespace {

const GstMetaInfo* meta_info();

gboolean meta_init(GstMeta* meta, gpointer, GstBuffer*) {
  auto* m = reinterpret_cast<GstSparsePoseMeta*>(meta);
  m->frame = 0;
  m->n_persons = 0;
  m->persons = nullptr;
  m->preprocess_ms = m->model_ms = m->decode_ms = m->tracking_ms = 0;
  return TRUE;
}

void meta_free(GstMeta* meta, GstBuffer*) {
  auto* m = reinterpret_cast<GstSparsePoseMeta*>(meta);
  g_free(m->persons);
  m->persons = nullptr;
  m->n_persons = 0;
}

GstSparsePoseMeta* add_copy(GstBuffer* dest, const GstSparsePoseMeta& src) {
  auto* m = reinterpret_cast<GstSparsePoseMeta*>(gst_buffer_add_meta(dest, meta_info(), nullptr));
  if (m == nullptr) return nullptr;
  m->frame = src.frame;
  m->preprocess_ms = src.preprocess_ms;
  m->model_ms = src.model_ms;
  m->decode_ms = src.decode_ms;
  m->tracking_ms = src.tracking_ms;
  m->n_persons = src.n_persons;
  m->persons = src.n_persons ? static_cast<GstSparsePosePerson*>(g_memdup2(src.persons, sizeof(GstSparsePosePerson) * src.n_persons))
                             : nullptr;
  return m;
}

// Copies (videoconvert, queue, tee, ...) keep the people as they are; scaling (videoscale) moves them
// with the pixels. Any other transform (crop, flip, rotate) drops the meta rather than leave it wrong.
gboolean meta_transform(GstBuffer* dest, GstMeta* meta, GstBuffer*, GQuark type, gpointer data) {
  const auto* src = reinterpret_cast<const GstSparsePoseMeta*>(meta);
  if (GST_META_TRANSFORM_IS_COPY(type)) return add_copy(dest, *src) != nullptr;
  if (GST_VIDEO_META_TRANSFORM_IS_SCALE(type)) {
    const auto* t = static_cast<const GstVideoMetaTransform*>(data);
    const int in_w = GST_VIDEO_INFO_WIDTH(t->in_info), in_h = GST_VIDEO_INFO_HEIGHT(t->in_info);
    if (in_w <= 0 || in_h <= 0) return FALSE;
    const float sx = static_cast<float>(GST_VIDEO_INFO_WIDTH(t->out_info)) / static_cast<float>(in_w);
    const float sy = static_cast<float>(GST_VIDEO_INFO_HEIGHT(t->out_info)) / static_cast<float>(in_h);
    GstSparsePoseMeta* m = add_copy(dest, *src);
    if (m == nullptr) return FALSE;
    for (guint i = 0; i < m->n_persons; ++i) {
      GstSparsePosePerson& p = m->persons[i];
      p.x1 *= sx;
      p.x2 *= sx;
      p.y1 *= sy;
      p.y2 *= sy;
      for (GstSparsePoseKeypoint& k : p.keypoints) {
        k.x *= sx;
        k.y *= sy;
      }
    }
    return TRUE;
  }
  return FALSE;
}

const GstMetaInfo* meta_info() {
  // Function-local statics: registered once, thread-safe, on the first use.
  static const GstMetaInfo* info = [] {
    return gst_meta_register(pose_meta_api_type(), "GstSparsePoseMeta", sizeof(GstSparsePoseMeta), meta_init, meta_free,
                             meta_transform);
  }();
  return info;
}

}  // namespace

GType pose_meta_api_type() {
  // Tagged as video metadata that depends on the frame's size and orientation, so elements that change
  // those transform (videoscale) or drop it, and elements that only convert colours keep it.
  static const GType type = [] {
    static const gchar* tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR,
                                  GST_META_TAG_VIDEO_ORIENTATION_STR, nullptr};
    return gst_meta_api_type_register(SPARSEPOSE_META_API_NAME, tags);
  }();
  return type;
}

GstSparsePoseMeta* add_pose_meta(GstBuffer* buffer, const sparsepose::Result& result) {
  auto* m = reinterpret_cast<GstSparsePoseMeta*>(gst_buffer_add_meta(buffer, meta_info(), nullptr));
  if (m == nullptr) return nullptr;
  m->frame = result.frame;
  m->preprocess_ms = result.timing.preprocess_ms;
  m->model_ms = result.timing.model_ms;
  m->decode_ms = result.timing.decode_ms;
  m->tracking_ms = result.timing.tracking_ms;
  m->n_persons = static_cast<guint>(result.persons.size());
  m->persons = m->n_persons ? g_new0(GstSparsePosePerson, m->n_persons) : nullptr;
  for (guint i = 0; i < m->n_persons; ++i) {
    const sparsepose::Person& p = result.persons[i];
    GstSparsePosePerson& q = m->persons[i];
    q.x1 = p.box.x1;
    q.y1 = p.box.y1;
    q.x2 = p.box.x2;
    q.y2 = p.box.y2;
    q.score = p.score;
    q.id = p.id;
    for (int k = 0; k < SPARSEPOSE_META_NUM_KEYPOINTS; ++k)
      q.keypoints[k] = {p.keypoints[k].x, p.keypoints[k].y, p.keypoints[k].conf};
  }
  return m;
}

static_assert(SPARSEPOSE_META_NUM_KEYPOINTS == sparsepose::kNumKeypoints);

}  // namespace sp::gst
