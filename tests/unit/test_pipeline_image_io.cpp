// Image loading and saving: clear errors for every way a path can be wrong, the size guard.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "pipeline/image_io.h"
#include "tests/test_paths.h"

namespace sp::pipeline {
namespace {

namespace fs = std::filesystem;

class ImageIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sp_image_io_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write_bytes(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }
  fs::path dir_;
};

// Expects load_image to throw an sp::Error whose message contains `what`.
void expect_load_error(const std::string& p, const std::string& what) {
  try {
    load_image(p);
    ADD_FAILURE() << "no error for " << p;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xFF), char((v >> 8) & 0xFF), char(v & 0xFF)};
}

TEST_F(ImageIo, RoundTripOneByOne) {
  cv::Mat px(1, 1, CV_8UC3, cv::Scalar(12, 34, 56));
  save_image(path("px.png"), px);
  const cv::Mat back = load_image(path("px.png"));
  ASSERT_EQ(back.type(), CV_8UC3);
  ASSERT_EQ(back.size(), cv::Size(1, 1));
  EXPECT_EQ(back.at<cv::Vec3b>(0, 0), cv::Vec3b(12, 34, 56));
  EXPECT_EQ(probe_image_size(path("px.png")), cv::Size(1, 1));
}

TEST_F(ImageIo, GreyAndAlphaLoadAsBgr) {
  cv::imwrite(path("grey.png"), cv::Mat(5, 7, CV_8UC1, cv::Scalar(99)));
  cv::imwrite(path("rgba.png"), cv::Mat(5, 7, CV_8UC4, cv::Scalar(1, 2, 3, 4)));
  const cv::Mat g = load_image(path("grey.png"));
  EXPECT_EQ(g.type(), CV_8UC3);
  EXPECT_EQ(g.at<cv::Vec3b>(2, 3), cv::Vec3b(99, 99, 99));
  const cv::Mat a = load_image(path("rgba.png"));
  EXPECT_EQ(a.type(), CV_8UC3);
  EXPECT_EQ(a.at<cv::Vec3b>(2, 3), cv::Vec3b(1, 2, 3));
}

TEST_F(ImageIo, ClearErrors) {
  expect_load_error(path("missing.jpg"), "does not exist");
  expect_load_error(dir_.string(), "directory");
  write_bytes("empty.jpg", "");
  expect_load_error(path("empty.jpg"), "empty");
  write_bytes("text.jpg", "this is not an image at all\n");
  expect_load_error(path("text.jpg"), "not an image");
  // A PNG signature followed by garbage: recognised, but cannot be decoded.
  write_bytes("broken.png", std::string("\x89PNG\r\n\x1a\n", 8) + std::string(64, 'x'));
  EXPECT_THROW(load_image(path("broken.png")), Error);
  EXPECT_THROW(load_image(""), Error);
}

TEST_F(ImageIo, RejectsAbsurdSizesBeforeDecoding) {
  // A PNG header claiming 20000 x 20000 (400 megapixels); there is no pixel data at all.
  const std::string ihdr = "IHDR" + be32(20000) + be32(20000) + std::string("\x08\x02\x00\x00\x00", 5);
  write_bytes("huge.png", std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + ihdr + be32(0));
  EXPECT_EQ(probe_image_size(path("huge.png")), cv::Size(20000, 20000));
  expect_load_error(path("huge.png"), "megapixels");
  // A JPEG whose SOF0 says 12000 x 9000 (108 MP), after an APP0 segment.
  std::string jpg = "\xFF\xD8";
  jpg += std::string("\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);
  jpg += std::string("\xFF\xC0\x00\x11\x08", 5) + "\x23\x28" + "\x2E\xE0" + std::string(12, '\x01');
  write_bytes("huge.jpg", jpg);
  EXPECT_EQ(probe_image_size(path("huge.jpg")), cv::Size(12000, 9000));
  expect_load_error(path("huge.jpg"), "megapixels");
}

TEST_F(ImageIo, ProbeKnownFormats) {
  const cv::Mat img(37, 53, CV_8UC3, cv::Scalar(0, 128, 255));
  for (const char* ext : {".png", ".jpg", ".bmp", ".webp"}) {
    const std::string p = path(std::string("img") + ext);
    if (!cv::haveImageWriter(p)) continue;
    ASSERT_TRUE(cv::imwrite(p, img)) << ext;
    EXPECT_EQ(probe_image_size(p), cv::Size(53, 37)) << ext;
    EXPECT_EQ(load_image(p).size(), cv::Size(53, 37)) << ext;
  }
  EXPECT_EQ(probe_image_size(path("nothing.png")), std::nullopt);
  const std::string bus = test::source_path("assets/images/bus.jpg");
  if (fs::exists(bus)) {
    EXPECT_EQ(probe_image_size(bus), cv::Size(810, 1080));
    EXPECT_EQ(load_image(bus).size(), cv::Size(810, 1080));
  }
}

TEST_F(ImageIo, SaveErrors) {
  const cv::Mat img(4, 4, CV_8UC3, cv::Scalar(1, 1, 1));
  EXPECT_THROW(save_image(path("x.png"), cv::Mat()), Error);
  EXPECT_THROW(save_image(path("x.notanimage"), img), Error);
  EXPECT_THROW(save_image(path("no/such/dir/x.png"), img), Error);
  EXPECT_THROW(save_image("", img), Error);
  save_image(path("ok.jpg"), img);
  EXPECT_TRUE(fs::exists(path("ok.jpg")));
}

}  // namespace
}  // namespace sp::pipeline
