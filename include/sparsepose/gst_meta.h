/* The sparsepose GStreamer element's buffer meta: the people it found in a frame, readable from C or C++
 * with nothing but GStreamer (no link to libsparsepose or the plugin). The element registers the meta
 * API type "GstSparsePoseMetaAPI" when it is loaded; gst_buffer_get_sparse_pose_meta() finds it by name.
 *
 *   const GstSparsePoseMeta *meta = gst_buffer_get_sparse_pose_meta (buffer);
 *   for (guint i = 0; meta && i < meta->n_persons; i++)
 *     g_print ("person %" G_GINT64_FORMAT " score %.2f\n", meta->persons[i].id, meta->persons[i].score);
 *
 * Coordinates are pixels of the frame the meta is on. It survives elements that copy metas (videoconvert,
 * queue, tee) and is rescaled by elements that scale video (videoscale); elements that crop, flip or rotate
 * drop it. */
#ifndef SPARSEPOSE_GST_META_H
#define SPARSEPOSE_GST_META_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define SPARSEPOSE_META_API_NAME "GstSparsePoseMetaAPI"
#define SPARSEPOSE_META_NUM_KEYPOINTS 17 /* COCO order: nose, left_eye, right_eye, ..., right_ankle */

typedef struct {
  gfloat x, y;
  gfloat conf; /* visibility confidence, 0..1 */
} GstSparsePoseKeypoint;

typedef struct {
  gfloat x1, y1, x2, y2; /* box: top-left and bottom-right corners */
  gfloat score;          /* person confidence, 0..1 */
  gint64 id;             /* track ID (1, 2, ...) with track=true, else -1 */
  GstSparsePoseKeypoint keypoints[SPARSEPOSE_META_NUM_KEYPOINTS];
} GstSparsePosePerson;

typedef struct {
  GstMeta meta;
  guint64 frame;                /* index among the frames the element processed since it started */
  guint n_persons;
  GstSparsePosePerson *persons; /* n_persons people, owned by the meta */
  gdouble preprocess_ms, model_ms, decode_ms, tracking_ms; /* the stages' wall time for this frame */
} GstSparsePoseMeta;

/* The meta API type, or 0 while no sparsepose element has been loaded. */
static inline GType gst_sparse_pose_meta_api_get_type_by_name (void) {
  return g_type_from_name (SPARSEPOSE_META_API_NAME);
}

/* The buffer's sparsepose meta, or NULL. */
static inline GstSparsePoseMeta *gst_buffer_get_sparse_pose_meta (GstBuffer *buffer) {
  GType api = gst_sparse_pose_meta_api_get_type_by_name ();
  return api ? (GstSparsePoseMeta *) gst_buffer_get_meta (buffer, api) : NULL;
}

G_END_DECLS

#endif /* SPARSEPOSE_GST_META_H */
