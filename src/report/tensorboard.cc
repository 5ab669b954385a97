#include "knob/report/tensorboard.h"

#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "knob/core/clock.h"
#include "knob/core/error.h"

namespace knob {
namespace detail {
namespace {

// Written by hand: no Debian library knob links computes CRC-32C (zlib's crc32 uses the
// IEEE polynomial), and protobuf would be a heavy dependency for three small messages.
constexpr std::array<uint32_t, 256> crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto kCrc32cTable = crc32c_table();

void put_fixed32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_fixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Protobuf wire format: a field's key is (field_number << 3) | wire_type, as a varint;
// wire types 0 = varint, 1 = fixed64 (double), 2 = length-delimited (string, message),
// 5 = fixed32 (float). Varints are 7 bits a byte, least significant first, the high bit set
// on every byte but the last; an int64 is encoded as its two's-complement uint64.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_key(std::string& out, int field, int wire_type) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}

void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// Event.wall_time = 1 (double), Event.step = 2 (int64), Event.file_version = 3 (string),
// Event.summary = 5 (Summary); Summary.value = 1 (repeated Value); Value.tag = 1 (string),
// Value.simple_value = 2 (float).
std::string event_head(double wall_time) {
  std::string out;
  put_key(out, 1, 1);
  put_fixed64(out, std::bit_cast<uint64_t>(wall_time));
  return out;
}

}  // namespace

uint32_t crc32c(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = kCrc32cTable[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string tfrecord(std::string_view data) {
  std::string length;
  put_fixed64(length, data.size());
  std::string out = length;
  put_fixed32(out, masked_crc32c(length));
  out.append(data);
  put_fixed32(out, masked_crc32c(data));
  return out;
}

std::string version_event(double wall_time) {
  std::string out = event_head(wall_time);
  put_bytes(out, 3, "brain.Event:2");
  return out;
}

std::string scalar_event(double wall_time, int64_t step, std::string_view tag, float value) {
  std::string v;
  put_bytes(v, 1, tag);
  put_key(v, 2, 5);
  put_fixed32(v, std::bit_cast<uint32_t>(value));
  std::string summary;
  put_bytes(summary, 1, v);
  std::string out = event_head(wall_time);
  put_key(out, 2, 0);
  put_varint(out, static_cast<uint64_t>(step));
  put_bytes(out, 5, summary);
  return out;
}

}  // namespace detail

namespace {

std::string hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  const std::string allowed = "must be a directory knob can create and write event files in";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  KNOB_CHECK(!ec, "tensorboard", dir, allowed + " (" + ec.message() + ")");
  const double created = unix_seconds(now());
  // The pid keeps two writers started in the same second apart, as torch's SummaryWriter does.
  path_ = (std::filesystem::path(dir) /
           ("events.out.tfevents." + std::to_string(static_cast<int64_t>(created)) + "." +
            hostname() + "." + std::to_string(getpid())))
              .string();
  file_ = std::fopen(path_.c_str(), "wb");
  KNOB_CHECK(file_ != nullptr, "tensorboard", dir,
             allowed + " (" + path_ + ": " + std::strerror(errno) + ")");
  // A buffer of ~1,600 scalars (~40 bytes a record): a training step writes four.
  std::setvbuf(file_, nullptr, _IOFBF, 64 * 1024);
  write_record(detail::version_event(created));
  flush();  // the file is a valid (empty) log at once
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);  // flushes
}

void TensorBoardWriter::add_scalar(std::string_view tag, double value, int64_t step,
                                   double wall_time) {
  if (wall_time < 0) wall_time = unix_seconds(now());
  write_record(detail::scalar_event(wall_time, step, tag, static_cast<float>(value)));
}

void TensorBoardWriter::flush() {
  last_flush_ = std::chrono::steady_clock::now();
  if (std::fflush(file_) != 0)
    throw Error("cannot write the TensorBoard event file " + path_ + ": " + std::strerror(errno));
}

void TensorBoardWriter::write_record(std::string_view data) {
  const std::string record = detail::tfrecord(data);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    throw Error("cannot write the TensorBoard event file " + path_ + ": " + std::strerror(errno));
  if (std::chrono::steady_clock::now() - last_flush_ >= std::chrono::seconds(1)) flush();
}

}  // namespace knob
