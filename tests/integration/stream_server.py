#!/usr/bin/python3
"""A real live-stream server on loopback for the reconnect tests: serves a video clip over RTSP
(GStreamer's RTSP server; the clip's H.264 is sent as is) or as an HTTP MJPEG stream (multipart/x-mixed-replace), paced at the
clip's frame rate and looping, until killed.

    stream_server.py rtsp --port 8554 --clip dance.mp4    -> rtsp://127.0.0.1:8554/clip
    stream_server.py http --port 8080 --clip dance.mp4    -> http://127.0.0.1:8080/clip.mjpg

Prints "ready <url>" on stdout (flushed) once clients can connect. Needs Debian's python3-gi,
gir1.2-gstreamer-1.0 and gir1.2-gst-rtsp-server-1.0 (scripts/setup.sh); run it with /usr/bin/python3.
"""
import argparse
import os
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def clip_access_units(clip):
    """The clip's H.264 access units (byte-stream, SPS/PPS in every key frame) with their pts/dts,
    and the clip's length in ns (the loop period)."""
    pipe = Gst.parse_launch(
        "filesrc location=%s ! qtdemux ! h264parse config-interval=-1"
        " ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false" % clip)
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    units, caps, end = [], None, 0
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        caps = sample.get_caps()
        b = sample.get_buffer()
        units.append((b.extract_dup(0, b.get_size()), b.pts, b.dts, b.duration,
                      not b.has_flags(Gst.BufferFlags.DELTA_UNIT)))
        end = max(end, b.dts + b.duration, b.pts + b.duration)
    pipe.set_state(Gst.State.NULL)
    if not units or not units[0][4]:
        sys.exit("stream_server: %s has no H.264 video starting with a key frame" % clip)
    return units, caps, end


def serve_rtsp(port, clip):
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GstRtspServer  # noqa: E402

    units, caps, period = clip_access_units(clip)

    def feed(appsrc):
        # Loops the clip for ever (no re-encoding: the clip starts on a key frame), paced by the
        # media's sinks, which sync to the clock; ends when the media is torn down (push fails).
        loop = 0
        while True:
            for data, pts, dts, duration, key in units:
                b = Gst.Buffer.new_wrapped(data)
                b.pts, b.dts, b.duration = pts + loop * period, dts + loop * period, duration
                if not key:
                    b.set_flags(Gst.BufferFlags.DELTA_UNIT)
                if appsrc.emit("push-buffer", b) != Gst.FlowReturn.OK:
                    return
            loop += 1

    def on_configure(_factory, media):
        appsrc = media.get_element().get_by_name("src")
        appsrc.set_property("caps", caps)
        threading.Thread(target=feed, args=(appsrc,), daemon=True).start()

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    # Every client gets its own media, from the clip's first frame.
    factory.set_launch("( appsrc name=src format=time block=true max-bytes=1000000 ! h264parse"
                       " ! rtph264pay name=pay0 pt=96 config-interval=1 )")
    factory.set_shared(False)
    factory.connect("media-configure", on_configure)
    server.get_mount_points().add_factory("/clip", factory)
    if server.attach(None) == 0:
        sys.exit("stream_server: cannot listen on 127.0.0.1:%d" % port)
    print("ready rtsp://127.0.0.1:%d/clip" % port, flush=True)
    GLib.MainLoop().run()


def decode_jpegs(clip):
    """The clip's frames as JPEG bytes, and its frame rate."""
    pipe = Gst.parse_launch(
        "filesrc location=%s ! decodebin ! videoconvert ! jpegenc quality=80 ! appsink name=sink sync=false" % clip)
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    frames, fps = [], 30.0
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        s = sample.get_caps().get_structure(0)
        ok, num, den = s.get_fraction("framerate")
        if ok and num > 0 and den > 0:
            fps = num / den
        buf = sample.get_buffer()
        frames.append(buf.extract_dup(0, buf.get_size()))
    pipe.set_state(Gst.State.NULL)
    if not frames:
        sys.exit("stream_server: no frames decoded from " + clip)
    return frames, fps


def serve_http(port, clip):
    frames, fps = decode_jpegs(clip)
    boundary = b"spframe"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=" + boundary.decode())
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            start = time.monotonic()
            n = 0
            try:
                while True:
                    jpeg = frames[n % len(frames)]
                    self.wfile.write(b"--" + boundary + b"\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                     % len(jpeg) + jpeg + b"\r\n")
                    self.wfile.flush()
                    n += 1
                    delay = start + n / fps - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
            except (BrokenPipeError, ConnectionResetError):
                pass

    class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
        allow_reuse_address = True
        daemon_threads = True

    with Server(("127.0.0.1", port), Handler) as httpd:
        print("ready http://127.0.0.1:%d/clip.mjpg" % port, flush=True)
        httpd.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("protocol", choices=["rtsp", "http"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--clip", required=True)
    a = ap.parse_args()
    Gst.init(None)
    clip = os.path.abspath(a.clip)
    if not os.path.isfile(clip):
        sys.exit("stream_server: no such clip: " + clip)
    (serve_rtsp if a.protocol == "rtsp" else serve_http)(a.port, clip)


if __name__ == "__main__":
    main()
